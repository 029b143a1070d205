"""Who may read what: one policy for pages, media, the API and live progress.

- Staff (active, `is_staff`) read everything and write.
- Signed-in readers read every manga that is not `private`.
- Anonymous visitors read non-private manga only when `MANGA_PUBLIC_LIBRARY` is on.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from translations.models import Manga


def is_staff_user(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def may_browse(user) -> bool:
    """Whether the user may read the library at all (before any per-manga check)."""
    if user is not None and user.is_authenticated:
        return bool(user.is_active)
    return bool(settings.MANGA_PUBLIC_LIBRARY)


def readable_manga(user) -> QuerySet[Manga]:
    if is_staff_user(user):
        return Manga.objects.all()
    if not may_browse(user):
        return Manga.objects.none()
    return Manga.objects.filter(private=False)


def can_read(user, manga: Manga) -> bool:
    if is_staff_user(user):
        return True
    return may_browse(user) and not manga.private
