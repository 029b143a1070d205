"""Where imported pages come from: a folder, a .zip or a .cbz, with the checks that need no decoding."""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

ARCHIVE_SUFFIXES = (".zip", ".cbz")
# Files that scanners, archivers and operating systems add beside the pages.
JUNK_NAMES = {"thumbs.db", "comicinfo.xml"}
# Scanned pages barely compress; zeros reach 1000:1. Small entries cannot do harm either way.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024
# The filesystem, zipfile and zlib report unreadable, damaged or unsupported data through these.
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)


class ImportRefused(Exception):
    """An import that changed nothing; the message says why, for the person who ran it."""


@dataclass(frozen=True)
class PageSource:
    names: list[str]  # the pages to import, in reading order
    open_entry: Callable[[str], BinaryIO]

    def read(self, name: str) -> bytes:
        limit = settings.MANGA_MAX_IMAGE_BYTES
        try:
            with self.open_entry(name) as stream:
                # Never trust a declared size: read one byte past the limit to learn whether there is more.
                data = stream.read(limit + 1)
        except READ_ERRORS as exc:
            raise ImportRefused(f"{name} cannot be read ({exc}).") from None
        if len(data) > limit:
            raise ImportRefused(f"{name} is more than the limit of {limit} bytes per page.")
        return data


@dataclass(frozen=True)
class _Entry:
    name: str
    size: int
    compressed_size: int | None = None


@contextmanager
def open_source(source: Path) -> Iterator[PageSource]:
    if source.is_dir():
        root = source.resolve()
        yield PageSource(_page_names(_folder_entries(root)), lambda name: (root / name).open("rb"))
        return
    if not source.is_file():
        raise ImportRefused(f"{source} does not exist.")
    if source.suffix.lower() not in ARCHIVE_SUFFIXES:
        raise ImportRefused(f"{source.name} is not a folder, a .zip or a .cbz.")
    try:
        archive = zipfile.ZipFile(source)
    except READ_ERRORS as exc:
        raise ImportRefused(f"{source.name} is not a readable zip archive ({exc}).") from None
    with archive:
        yield PageSource(_page_names(_archive_entries(archive)), archive.open)  # type: ignore[arg-type]


def _folder_entries(root: Path) -> Iterator[_Entry]:
    for folder, folder_names, file_names in os.walk(root):
        for name in folder_names + file_names:
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            # Links inside the folder are harmless; following one out would read any file on the host.
            if path.is_symlink() and not _link_target(path, relative).is_relative_to(root):
                raise ImportRefused(f"{relative} is a link to outside the folder; such links are refused.")
            if name not in file_names:
                continue  # os.walk does not descend into linked folders; their files are here already.
            if not path.is_file():
                raise ImportRefused(f"{relative} is not a regular file.")
            yield _Entry(relative, path.stat().st_size)


def _link_target(path: Path, relative: str) -> Path:
    try:
        return path.resolve(strict=True)
    except (RuntimeError, OSError):  # a loop (RuntimeError on Python 3.11, ELOOP later), or a dangling link
        raise ImportRefused(f"{relative} is a link that loops or leads nowhere; such links are refused.") from None


def _archive_entries(archive: zipfile.ZipFile) -> Iterator[_Entry]:
    seen = set()
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[/\\]", name):
            raise ImportRefused(f"The archive entry {name!r} has an absolute path; refusing the archive.")
        if ".." in parts or "\x00" in name:
            raise ImportRefused(f"The archive entry {name!r} points outside the archive; refusing the archive.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImportRefused(f"The archive entry {name!r} is a symbolic link; refusing the archive.")
        if info.is_dir():
            continue
        # Two entries with one name can show different pages to different tools.
        if name in seen:
            raise ImportRefused(f"The archive holds {name!r} twice; refusing the archive.")
        seen.add(name)
        yield _Entry(name, info.file_size, info.compress_size)


def _page_names(entries: Iterable[_Entry]) -> list[str]:
    """The names to import in reading order, after the limits that need no reading."""
    max_files, max_total = settings.MANGA_IMPORT_MAX_FILES, settings.MANGA_IMPORT_MAX_BYTES
    names, total = [], 0
    for count, entry in enumerate(entries, start=1):
        if count > max_files:
            raise ImportRefused(f"The source holds more than {max_files} files, the import limit.")
        if _is_junk(entry.name):
            continue
        _check_declared_size(entry)
        total += entry.size
        if total > max_total:
            raise ImportRefused(f"The pages add up to more than {max_total} bytes, the import limit.")
        names.append(entry.name)
    if not names:
        raise ImportRefused("The source holds no page images.")
    return sorted(names, key=_natural_key)


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(part == "__MACOSX" or part.startswith(".") for part in parts) or parts[-1].lower() in JUNK_NAMES


def _check_declared_size(entry: _Entry) -> None:
    limit = min(settings.MANGA_MAX_IMAGE_BYTES, settings.MANGA_IMPORT_MAX_BYTES)
    if entry.size > limit:
        raise ImportRefused(f"{entry.name} is {entry.size} bytes, more than the limit of {limit} bytes per page.")
    if entry.compressed_size is None or entry.size <= RATIO_CHECKED_ABOVE_BYTES:
        return
    ratio = entry.size // max(entry.compressed_size, 1)
    if ratio > MAX_COMPRESSION_RATIO:
        raise ImportRefused(f"{entry.name} would expand {ratio} times when unpacked; it looks like a zip bomb.")


def _natural_key(name: str) -> tuple[list[int | str], str]:
    # re.split with a group puts the digit runs at the odd positions: "p10.jpg" → ["p", "10", ".jpg"].
    parts = re.split(r"(\d+)", name)
    return [int(part) if position % 2 else part.casefold() for position, part in enumerate(parts)], name
