"""Reading positions: where a signed-in reader is in a manga and how they read it, remembered server side."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from translations.models import Chapter, ReadingPosition

__all__ = ["PositionRefused", "position_save"]


class PositionRefused(ValueError):
    """A position that does not exist in the chapter, or an unknown mode or direction."""


def position_save(*, user, chapter: Chapter, page: int, mode: str, direction: str) -> ReadingPosition:
    """Remember `page` of `chapter` as the user's place in its manga (one position per user and manga)."""
    if not user.is_authenticated:
        raise PositionRefused("Only signed-in readers have a remembered position.")
    if mode not in ReadingPosition.Mode.values:
        raise PositionRefused(f"Unknown reading mode {mode!r}.")
    if direction not in ReadingPosition.Direction.values:
        raise PositionRefused(f"Unknown reading direction {direction!r}.")
    if page < 1 or not chapter.pages.filter(index=page).exists():
        raise PositionRefused(f"Chapter {chapter.slug} has no page {page}.")
    values = {"chapter": chapter, "page": page, "mode": mode, "direction": direction}
    try:
        with transaction.atomic():
            position, _ = ReadingPosition.objects.update_or_create(user=user, manga=chapter.manga, defaults=values)
    except IntegrityError:  # two tabs saving the first position at once: the row exists now
        position, _ = ReadingPosition.objects.update_or_create(user=user, manga=chapter.manga, defaults=values)
    return position
