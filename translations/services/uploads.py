"""A chapter uploaded through the browser or the API: the same checks and refusals as `import_chapter`.

The uploaded files are copied into a private temporary folder (page images) or file (one .zip or
.cbz), then handed to `chapter_import`, which validates every page before it writes anything.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path, PurePosixPath

from django.core.files.uploadedfile import UploadedFile

from translations.models import Chapter, Manga
from translations.services.audit import audit_record
from translations.services.import_sources import ARCHIVE_SUFFIXES, ImportRefused
from translations.services.imports import SOURCE_LANGUAGE_CODES, _checked_slug, chapter_import

__all__ = ["ImportRefused", "import_upload", "import_upload_new_manga", "upload_name"]


def upload_name(upload: UploadedFile) -> str:
    """The file's own name without any folder a browser or client sent; refuses names that are no file name."""
    raw = str(upload.name or "")
    name = PurePosixPath(raw.replace("\\", "/")).name
    if not name or name in (".", "..") or "\x00" in name or len(name) > 200:
        raise ImportRefused(f"{raw!r} is not a usable file name.")
    return name


def import_upload(*, manga: Manga, number: Decimal, title: str, files: Sequence[UploadedFile], requested_by) -> Chapter:
    """Add one chapter to `manga` from page images, or from one .zip / .cbz.

    Raises ImportRefused (nothing written) with a message that names the file at fault.
    Uploading the same pages again changes nothing and returns the existing chapter.
    """
    if not files:
        raise ImportRefused("Choose the chapter's page images, or one .zip or .cbz file.")
    names = [upload_name(upload) for upload in files]
    archives = [name for name in names if Path(name).suffix.lower() in ARCHIVE_SUFFIXES]
    if archives and len(files) > 1:
        raise ImportRefused(f"{archives[0]}: upload one archive on its own, or page images without an archive.")
    lowered = [name.casefold() for name in names]
    for name in names:
        if lowered.count(name.casefold()) > 1:
            raise ImportRefused(f"{name} is in the upload twice; each page needs its own file name.")

    with tempfile.TemporaryDirectory(prefix="mangasite-upload-") as folder:
        root = Path(folder)
        if archives:
            source = root / names[0]
            _copy(files[0], source)
        else:
            source = root / "pages"
            source.mkdir()
            for upload, name in zip(files, names, strict=True):
                _copy(upload, source / name)
        try:
            result = chapter_import(
                source=source,
                manga_title=manga.title,
                manga_slug=manga.slug,
                language=manga.source_language,
                chapter_number=number,
                chapter_title=title,
            )
        except ImportRefused as exc:
            if archives and names[0] not in str(exc):
                raise ImportRefused(f"{names[0]}: {exc}") from None
            raise
    if not result.already_imported:
        audit_record(
            actor=requested_by,
            action="chapter.upload",
            obj=result.chapter,
            message=f"Uploaded {result.pages_created} pages as {result.chapter}.",
            details={"manga": manga.pk, "chapter": str(result.chapter.slug), "files": len(files)},
        )
    return result.chapter


def import_upload_new_manga(
    *,
    manga_title: str,
    source_language: str,
    target_language: str,
    number: Decimal,
    title: str,
    files: Sequence[UploadedFile],
    requested_by,
) -> Chapter:
    """The library's upload: the manga of that title (made now if new), then `import_upload` into it.

    A manga made for an upload that is refused is removed again, so a refusal leaves nothing behind.
    """
    if not manga_title.strip():
        raise ImportRefused("The manga title is empty.")
    if source_language not in SOURCE_LANGUAGE_CODES:
        raise ImportRefused(f"Unknown source language {source_language!r}.")
    slug = _checked_slug(None, manga_title)  # the slug import_chapter would make for this title
    manga, created = Manga.objects.get_or_create(
        slug=slug,
        defaults={"title": manga_title, "source_language": source_language, "target_language": target_language},
    )
    if not created and manga.source_language != source_language:
        raise ImportRefused(
            f"{manga.title} is read from {manga.source_language!r}, not {source_language!r}; "
            "upload on its own page or choose another title."
        )
    try:
        return import_upload(manga=manga, number=number, title=title, files=files, requested_by=requested_by)
    except BaseException:
        if created:
            manga.delete()
        raise


def _copy(upload: UploadedFile, target: Path) -> None:
    upload.seek(0)
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
