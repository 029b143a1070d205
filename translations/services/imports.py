"""Chapter import: page images from a folder, .zip or .cbz, checked in full before anything is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import DataError, IntegrityError, transaction
from django.utils.text import slugify

from translations import storage
from translations.models import SOURCE_LANGUAGES, Chapter, Language, Manga, Page, chapter_slug
from translations.services.import_sources import ImportRefused, PageSource, open_source

__all__ = ["SOURCE_LANGUAGE_CODES", "ImportRefused", "ImportResult", "chapter_import"]

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE_CODES = [language.value for language in SOURCE_LANGUAGES]
# Chapter.number has 8 digits, 2 of them after the point.
CHAPTER_NUMBER_LIMIT = Decimal(10) ** 6
# The slug names a folder (data/raw/<slug>/): file systems allow 255 bytes a name, not characters.
SLUG_MAX_BYTES = 255


@dataclass(frozen=True)
class ImportResult:
    manga: Manga
    chapter: Chapter
    pages_created: int
    already_imported: bool


# (name in the source, what pass 1 learned about it), in reading order.
_Pages = list[tuple[str, storage.ImageInfo]]


def chapter_import(
    *,
    source: Path,
    manga_title: str,
    chapter_number: Decimal,
    language: str | None = None,
    manga_slug: str | None = None,
    chapter_title: str = "",
) -> ImportResult:
    """Add one chapter's pages to the library; importing the same pages again changes nothing."""
    number = _checked_number(chapter_number)
    if not manga_title.strip():
        raise ImportRefused("The manga title is empty.")
    _check_length("manga title", manga_title, Manga._meta.get_field("title").max_length)  # type: ignore[arg-type]
    _check_length("chapter title", chapter_title, Chapter._meta.get_field("title").max_length)  # type: ignore[arg-type]
    if language is not None and language not in SOURCE_LANGUAGE_CODES:
        raise ImportRefused(f"Unknown source language {language!r}; use one of: {', '.join(SOURCE_LANGUAGE_CODES)}.")
    slug = _checked_slug(manga_slug, manga_title)
    manga = Manga.objects.filter(slug=slug).first()
    if manga is not None and language is not None and language != manga.source_language:
        raise ImportRefused(
            f"{manga.title} is read from {manga.source_language!r}, not {language!r}; "
            "leave out the language or import into another manga."
        )

    with open_source(Path(source)) as pages_source:
        pages = _read_pages(pages_source)
        chapter = manga.chapters.filter(number=number).first() if manga is not None else None
        if chapter is not None:
            existing = list(chapter.pages.order_by("index").values_list("sha256", flat=True))
            if existing == [info.sha256 for _, info in pages]:
                logger.info(
                    "chapter import: manga=%s chapter=%s pages=%d already imported", slug, chapter.slug, len(existing)
                )
                return ImportResult(manga=manga, chapter=chapter, pages_created=0, already_imported=True)  # type: ignore[arg-type]
            if existing:
                raise ImportRefused(
                    f"{manga.title} chapter {chapter.slug} already has {len(existing)} pages that differ from "  # type: ignore[union-attr]
                    "these; delete the chapter (in the admin) first to import it again."
                )
        new_manga = {"title": manga_title, "source_language": language or Language.JAPANESE}
        manga, chapter = _store_pages(pages_source, pages, slug, new_manga, number, chapter_title)
    logger.info("chapter import: manga=%s chapter=%s pages=%d imported", slug, chapter.slug, len(pages))
    return ImportResult(manga=manga, chapter=chapter, pages_created=len(pages), already_imported=False)


def _checked_number(number: Decimal) -> Decimal:
    number = Decimal(number)
    if not number.is_finite() or number < 0 or number >= CHAPTER_NUMBER_LIMIT:
        raise ImportRefused(f"Chapter number {number} is not usable; give a number from 0 up to 999999.99.")
    if number != number.quantize(Decimal("0.01")):
        raise ImportRefused(f"Chapter number {number} has more than 2 decimal places.")
    # abs() turns -0 into 0, which would otherwise name the chapter folder "-0".
    return abs(number)


def _check_length(what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ImportRefused(f"The {what} is {len(value)} characters long; the limit is {limit}.")


def _checked_slug(manga_slug: str | None, manga_title: str) -> str:
    limit = Manga._meta.get_field("slug").max_length
    if manga_slug is not None:
        usable = slugify(manga_slug, allow_unicode=True) == manga_slug
        if not manga_slug or len(manga_slug) > limit or len(manga_slug.encode()) > SLUG_MAX_BYTES or not usable:  # type: ignore[operator]
            raise ImportRefused(
                f"{manga_slug[:80]!r} is not a usable slug: use lowercase letters, digits and hyphens, "
                f"at most {limit} characters and {SLUG_MAX_BYTES} bytes in UTF-8."
            )
        return manga_slug
    slug = (slugify(manga_title) or slugify(manga_title, allow_unicode=True))[:limit]
    # Cut to whole characters within the byte limit too: a title in kana is 3 bytes a character.
    slug = slug.encode()[:SLUG_MAX_BYTES].decode("utf-8", "ignore").strip("-")
    if not slug:
        raise ImportRefused(f"The title {manga_title!r} gives no usable slug; give one with --slug.")
    return slug


def _read_pages(source: PageSource) -> _Pages:
    """Pass 1: read and validate every page, keeping only what pass 2 needs to check it again."""
    pages = []
    for name in source.names:
        try:
            pages.append((name, storage.validate_image(source.read(name), name)))
        except storage.InvalidImage as exc:
            raise ImportRefused(f"Cannot import {exc}.") from None
    return pages


def _store_pages(
    source: PageSource, pages: _Pages, slug: str, new_manga: dict, number: Decimal, chapter_title: str
) -> tuple[Manga, Chapter]:
    """Pass 2: stage the files, then create the rows and move the files into place in one transaction.

    Files are staged under names of their own, so an import that loses a race with another import
    of the same chapter (the rows decide which wins) never touches the winner's files.
    """
    token = secrets.token_hex(8)
    written: list[str] = []  # every path this import created, so a failure can remove them all
    try:
        moves = []
        for index, (name, info) in enumerate(pages, start=1):
            data = source.read(name)
            if hashlib.sha256(data).hexdigest() != info.sha256:
                raise ImportRefused(f"{name} changed while it was being imported.")
            final = storage.page_path(storage.RAW_DIR, slug, chapter_slug(number), index, info.extension)
            staged = f"{final.rsplit('/', 1)[0]}/.importing-{token}-{index:03d}.{info.extension}"
            storage.write_atomic(staged, data)
            written.append(staged)
            moves.append((staged, final))
        with transaction.atomic():
            manga, _ = Manga.objects.get_or_create(slug=slug, defaults=new_manga)
            chapter, _ = Chapter.objects.get_or_create(manga=manga, number=number, defaults={"title": chapter_title})
            if chapter.pages.exists():
                raise ImportRefused(f"{manga.title} chapter {chapter.slug} was filled by another import meanwhile.")
            Page.objects.bulk_create(
                Page(
                    chapter=chapter,
                    index=index,
                    image=final,
                    width=info.width,
                    height=info.height,
                    size_bytes=info.size_bytes,
                    sha256=info.sha256,
                )
                for index, ((_, info), (_, final)) in enumerate(zip(pages, moves, strict=True), start=1)
            )
            first_page = moves[0][1]
            if Manga.objects.filter(pk=manga.pk, cover="").update(cover=first_page):
                manga.cover = first_page
            Manga.bump_version(pk=manga.pk)  # bulk_create sends no signal (signals.py)
            # Last, so that the rows (unique per chapter and index) decide the race before any file moves.
            for staged, final in moves:
                storage.move(staged, final)
                written.append(final)
    except BaseException as exc:
        for relative in written:
            storage.delete(relative)
        if isinstance(exc, IntegrityError):
            raise ImportRefused("Another import changed this manga at the same time; run the import again.") from exc
        if isinstance(exc, DataError):  # a value the checks above missed and the database refuses
            raise ImportRefused(f"The database refused a value of this chapter: {exc}".strip()) from exc
        raise
    return manga, chapter
