"""Links for long lists: reverse a URL once, then fill in each row's id."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse


def url_maker(name: str, *fixed: str) -> Callable[[object], str]:
    """`reverse` once with a placeholder as the last argument, then fill it in per row.

    A 200-chapter page needs about ten links per chapter; reversing each costs more than the rest
    of the row.
    """
    placeholder = "999999"  # fits every converter here: an int, or a chapter slug
    prefix, suffix = reverse(name, args=[*fixed, placeholder]).rsplit(placeholder, 1)
    return lambda value: f"{prefix}{value}{suffix}"
