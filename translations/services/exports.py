"""A job's chapter as a product: a streamed CBZ with ComicInfo.xml, and the script (source and translation per region).

The reader's download buttons and the API serve exactly these, so both hand out the same files.
The CBZ is written page by page into a small buffer that is drained after every chunk: a chapter
of any size costs about one chunk of memory, never the whole archive.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypedDict
from xml.etree import ElementTree

from translations import storage
from translations.models import Language, PageResult, TranslationJob, Translator
from translations.pipeline.report import RegionReport, regions_from_json

__all__ = [
    "CbzEntry",
    "ChapterScript",
    "ScriptLine",
    "ScriptPage",
    "cbz_entries",
    "cbz_filename",
    "chapter_cbz",
    "chapter_script",
    "comic_info_xml",
    "job_mode",
    "script_filename",
]

CHUNK_BYTES = 256 * 1024
CLEANING = "cleaning"
TRANSLATE = "translate"


def job_mode(job: TranslationJob) -> str:
    """`cleaning` for the `none` translator (text erased, nothing lettered), `translate` otherwise."""
    return CLEANING if job.translator == Translator.NONE else TRANSLATE


# --- File names ----------------------------------------------------------------------------


def _base_name(job: TranslationJob) -> str:
    chapter = job.chapter
    suffix = "cleaned" if job_mode(job) == CLEANING else job.target_language
    return f"{chapter.manga.slug}-ch{chapter.slug}-{suffix}"


def cbz_filename(job: TranslationJob) -> str:
    """`blue-sky-ch10.5-en.cbz`; `…-cleaned.cbz` in cleaning mode. ASCII-safe: slugs and digits."""
    return f"{_base_name(job)}.cbz"


def script_filename(job: TranslationJob, extension: str) -> str:
    """`blue-sky-ch10.5-en.script.txt` (or `.json`)."""
    if extension not in ("txt", "json"):
        raise ValueError(f"no script format {extension!r}")
    return f"{_base_name(job)}.script.{extension}"


# --- CBZ -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CbzEntry:
    """One page of the archive: which stored file goes in, and why that one."""

    index: int
    name: str  # the name inside the archive: 001.png
    source: str  # path relative to MANGA_DATA_DIR
    translated: bool  # False: the original page (no text, failed, not done, or output missing)
    reason: str  # the page's status, or "missing" when its output file is gone


def cbz_entries(job: TranslationJob) -> list[CbzEntry]:
    """The archive's pages in reading order: the output where there is one on disk, the original otherwise."""
    entries = []
    results = PageResult.objects.filter(job=job).select_related("page").order_by("page__index")
    for result in results:
        page = result.page
        source, translated, reason = page.image, False, result.status
        if result.status == PageResult.Status.SUCCEEDED and result.output_path:
            if _stored(result.output_path):
                source, translated = result.output_path, True
            else:
                reason = "missing"
        extension = source.rsplit(".", 1)[-1]
        entries.append(CbzEntry(page.index, f"{page.index:03d}.{extension}", source, translated, reason))
    return entries


def _stored(relative: str) -> bool:
    try:
        return storage.resolve_path(relative).is_file()
    except storage.StorageError:
        return False


def comic_info_xml(job: TranslationJob, entries: list[CbzEntry]) -> bytes:
    """ComicInfo.xml (the Anansi schema v2.0 fields plus v2.1's Translator) for comic readers."""
    chapter = job.chapter
    manga = chapter.manga
    cleaning = job_mode(job) == CLEANING
    root = ElementTree.Element("ComicInfo")

    def add(tag: str, text: str) -> None:
        ElementTree.SubElement(root, tag).text = text

    add("Title", chapter.title or f"Chapter {chapter.slug}")
    add("Series", manga.title)
    add("Number", chapter.slug)
    add("PageCount", str(len(entries)))
    add("LanguageISO", manga.source_language if cleaning else job.target_language)
    add("Translator", f"Mangasite machine translation ({Translator(job.translator).label})")
    if manga.source_url:
        add("Web", manga.source_url)
    add("Manga", "YesAndRightToLeft" if manga.source_language == Language.JAPANESE else "No")
    add("Notes", _notes(job, entries, cleaning=cleaning))
    pages = ElementTree.SubElement(root, "Pages")
    for position in range(len(entries)):
        attributes = {"Image": str(position)}
        if position == 0:
            attributes["Type"] = "FrontCover"
        ElementTree.SubElement(pages, "Page", attributes)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _notes(job: TranslationJob, entries: list[CbzEntry], *, cleaning: bool) -> str:
    kind = "Cleaned pages (text erased, not lettered)" if cleaning else f"Translated into {job.target_language}"
    lines = [f"{kind} by Mangasite job {job.pk} with the {job.translator} translator."]
    originals = [entry for entry in entries if not entry.translated]
    if originals:
        listed = ", ".join(f"{entry.index} ({entry.reason.replace('_', ' ')})" for entry in originals)
        lines.append(f"Original pages: {listed}.")
    return " ".join(lines)


def chapter_cbz(job: TranslationJob) -> Iterator[bytes]:
    """The chapter as a CBZ, in chunks. The page list is read now; the files as the stream is consumed."""
    entries = cbz_entries(job)
    comic_info = comic_info_xml(job, entries)
    return _cbz_stream(entries, comic_info)


class _Drain:
    """A write-only file for zipfile that keeps what was written until `take()` (zipfile sees it as unseekable)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _cbz_stream(entries: list[CbzEntry], comic_info: bytes) -> Iterator[bytes]:
    sink = _Drain()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        archive.writestr(zipfile.ZipInfo("ComicInfo.xml"), comic_info, compress_type=zipfile.ZIP_DEFLATED)
        yield sink.take()
        for entry in entries:
            path = storage.resolve_path(entry.source)
            info = zipfile.ZipInfo(entry.name)
            info.file_size = path.stat().st_size  # lets zipfile choose zip64 before writing
            # Page images are compressed already: stored, not deflated.
            with path.open("rb") as source, archive.open(info, mode="w") as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


# --- Script ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptLine:
    region: int  # the region's reading-order id on its page
    source: str
    translation: str | None  # None in cleaning mode, or where the region was not translated
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptPage:
    index: int
    status: str  # the PageResult status: succeeded, no_text, failed, pending…
    lines: tuple[ScriptLine, ...] = ()


class ScriptJson(TypedDict):
    manga: str
    manga_slug: str
    chapter: str
    chapter_title: str
    source_language: str
    target_language: str
    translator: str
    mode: str
    job: int
    pages: list[dict]


@dataclass(frozen=True)
class ChapterScript:
    """A chapter's text: per page, per region in reading order, source and translation."""

    manga: str
    manga_slug: str
    chapter: str  # the chapter slug: "1", "10.5"
    chapter_title: str
    source_language: str
    target_language: str
    translator: str
    mode: str  # "translate" or "cleaning"
    job: int
    pages: tuple[ScriptPage, ...] = field(default_factory=tuple)

    def as_json(self) -> ScriptJson:
        """A JSON-ready dict (json.dumps it, or hand it to a serializer)."""
        return {
            "manga": self.manga,
            "manga_slug": self.manga_slug,
            "chapter": self.chapter,
            "chapter_title": self.chapter_title,
            "source_language": self.source_language,
            "target_language": self.target_language,
            "translator": self.translator,
            "mode": self.mode,
            "job": self.job,
            "pages": [
                {
                    "index": page.index,
                    "status": page.status,
                    "regions": [
                        {
                            "region": line.region,
                            "source": line.source,
                            "translation": line.translation,
                            "flags": list(line.flags),
                        }
                        for line in page.lines
                    ],
                }
                for page in self.pages
            ],
        }

    def as_json_text(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2) + "\n"

    def as_text(self) -> str:
        """A plain script for letterers: one block per page, `[n] source` then `→ translation`."""
        title = f"{self.manga} — chapter {self.chapter}" + (f": {self.chapter_title}" if self.chapter_title else "")
        if self.mode == CLEANING:
            header = f"Source text ({self.source_language}), cleaning mode: no translation"
        else:
            header = f"{self.source_language} → {self.target_language}, translator: {self.translator}"
        out = [title, header, ""]
        for page in self.pages:
            state = "" if page.status == PageResult.Status.SUCCEEDED else f" ({page.status.replace('_', ' ')})"
            out.append(f"== Page {page.index}{state} ==")
            for line in page.lines:
                flags = f"  [{', '.join(line.flags)}]" if line.flags else ""
                out.append(f"[{line.region}] {line.source}{flags}")
                if self.mode != CLEANING:
                    out.append(f"    → {line.translation}" if line.translation else "    → (untranslated)")
            out.append("")
        return "\n".join(out)


def chapter_script(job: TranslationJob) -> ChapterScript:
    chapter = job.chapter
    manga = chapter.manga
    results = PageResult.objects.filter(job=job).select_related("page").order_by("page__index")
    pages = tuple(
        ScriptPage(index=result.page.index, status=result.status, lines=_lines(regions_from_json(result.regions)))
        for result in results
    )
    return ChapterScript(
        manga=manga.title,
        manga_slug=manga.slug,
        chapter=chapter.slug,
        chapter_title=chapter.title,
        source_language=manga.source_language,
        target_language=job.target_language,
        translator=job.translator,
        mode=job_mode(job),
        job=job.pk,
        pages=pages,
    )


def _lines(regions: list[RegionReport]) -> tuple[ScriptLine, ...]:
    """The report's regions are stored in reading order; keep that order."""
    return tuple(
        ScriptLine(
            region=region.id,
            source=region.source_text,
            translation=region.translation or None,
            flags=tuple(region.flags),
        )
        for region in regions
    )
