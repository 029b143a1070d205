"""Which chapters a request means: "1-3,7", "10.5", "all" or "new" (not yet in the library)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from scraper.providers.base import ChapterRef

_PART = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$")


class SelectionRefused(ValueError):
    """A chapter selection that cannot be read; the message shows the expected form."""


def parse_selection(spec: str) -> list[tuple[Decimal, Decimal]]:
    """ "1-3,7" → [(1, 3), (7, 7)], inclusive ranges."""
    ranges = []
    for part in spec.split(","):
        match = _PART.match(part)
        if not match:
            raise SelectionRefused(f"{part.strip()!r} is not a chapter number or range; write e.g. 1-3,7,10.5.")
        try:
            low = Decimal(match.group(1))
            high = Decimal(match.group(2) or match.group(1))
        except InvalidOperation:
            raise SelectionRefused(f"{part.strip()!r} is not a chapter number.") from None
        if high < low:
            raise SelectionRefused(f"{part.strip()!r} runs backwards; write the lower number first.")
        ranges.append((low, high))
    return ranges


def select_chapters(chapters: list[ChapterRef], spec: str, *, in_library: set[Decimal]) -> list[ChapterRef]:
    """The listed chapters that `spec` names, ascending; "new" leaves out those the library has."""
    spec = spec.strip().lower()
    if spec == "all":
        return list(chapters)
    if spec == "new":
        return [chapter for chapter in chapters if chapter.number.normalize() not in in_library]
    ranges = parse_selection(spec)
    return [chapter for chapter in chapters if any(low <= chapter.number <= high for low, high in ranges)]
