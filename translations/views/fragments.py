"""Cached parts of the reader pages (the chapter table, the reader's pages, the library grid), keyed by what they show.

A key names the manga's `version` (or `library_version()`), read before the data it stands for, the
viewer's class (staff see private manga and staff buttons) and the active language, with the page's
own validated parameters. Every change the pages show moves the version in the change's transaction
(signals.py), so once a change has committed no request is served the part from before it. Entries
also expire after MANGA_FRAGMENT_CACHE_SECONDS (0 turns the cache off). What is per person (the
reading position, "continue reading", forms with CSRF tokens) is never in a cached part.

The parts live in Django's default cache: Redis when there is one (shared by every web process),
per process otherwise. A cache that fails is logged and the part is computed as if it were absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from hashlib import blake2b
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils.translation import get_language

from translations.models import Manga

logger = logging.getLogger(__name__)
T = TypeVar("T")


def cached(name: str, parts: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or what it returned for the same `name` and `parts` (ints, strings, bools, None, dates)."""
    seconds = settings.MANGA_FRAGMENT_CACHE_SECONDS
    if not seconds:
        return compute()
    digest = blake2b(repr((parts, get_language())).encode(), digest_size=16).hexdigest()
    key = f"fragment:{name}:{digest}"
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("fragment cache unreadable; computing %s", name, exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, seconds)
        except Exception:
            logger.warning("fragment cache unwritable; %s not kept", name, exc_info=True)
    return value


def requested_page(value: str | None) -> int:
    """A paginated part's `?page=` as a key part: 1 to 10 000, else 1.

    Bounded, so that made-up page numbers cannot fill the cache with copies of the last page.
    """
    return int(value) if value and value.isdigit() and 0 < int(value) <= 10_000 else 1


def manga_key(manga: Manga) -> tuple:
    """A manga as a key part: `created_at` too, since SQLite can give a deleted manga's id to a new one."""
    return (manga.pk, manga.created_at, manga.version)


def library_version() -> tuple:
    """Moves with every manga's version, and with a manga added or deleted."""
    figures = Manga.objects.aggregate(count=Count("pk"), versions=Sum("version"), updated=Max("updated_at"))
    return (figures["count"], figures["versions"], figures["updated"])
