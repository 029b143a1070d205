"""Test builder shared by the library, admin, media and job tests: a page stored as an import would store it."""

from __future__ import annotations

from translations import storage
from translations.models import Chapter, Page


def store_page(chapter: Chapter, index: int, data: bytes) -> Page:
    """Write `data` under raw/<manga>/<chapter>/NNN.ext and create its Page row."""
    info = storage.validate_image(data)
    relative = storage.page_path(storage.RAW_DIR, chapter.manga.slug, chapter.slug, index, info.extension)
    storage.write_atomic(relative, data)
    return Page.objects.create(
        chapter=chapter,
        index=index,
        image=relative,
        width=info.width,
        height=info.height,
        size_bytes=info.size_bytes,
        sha256=info.sha256,
    )
