"""Backups (docs/operations.md, "Backups"): the database and the data directory in one folder with a manifest.

    <target>/database.pgdump | database.sqlite3   pg_dump's custom format, or SQLite's online backup
    <target>/data.tar                             raw/, output/, thumbs/ and secret_key of MANGA_DATA_DIR
    <target>/manifest.json                        what is in them: sha256, sizes, row counts

Consistent: the database is dumped first (one snapshot), then the files; every image a row of
that snapshot names must be in the archive, or the backup fails and says which are missing. A
file written after the snapshot is only extra. Restore checks the manifest's sha256 before it
touches anything, refuses a database of the other kind, and refuses to replace a library that
holds manga unless told to.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import tarfile
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from django.db import connection
from django.utils import timezone

from translations import storage
from translations.models import Chapter, Manga, Page, PageResult, TranslationJob

FORMAT = 1
MANIFEST = "manifest.json"
DATA_ARCHIVE = "data.tar"
# What of MANGA_DATA_DIR is backed up: the stored files and the key that signs sessions.
DATA_ENTRIES = (storage.RAW_DIR, storage.OUTPUT_DIR, storage.THUMB_DIR, "secret_key")


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why and what to do."""


@dataclass
class Manifest:
    format: int
    created_at: str
    database: dict  # vendor, file, sha256, bytes
    data: dict  # file, sha256, bytes, files
    counts: dict[str, int]
    referenced_files: int
    missing_files: list[str] = field(default_factory=list)


def backup_create(*, target: Path) -> Manifest:
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    vendor = connection.vendor
    database_file = target / ("database.pgdump" if vendor == "postgresql" else "database.sqlite3")
    counts, referenced = _snapshot_facts()
    _dump_database(database_file)  # right after the facts: rows created in between are only extra
    files, missing = _archive_data(target / DATA_ARCHIVE, referenced)
    if missing:
        raise BackupError(
            f"{len(missing)} stored files the database names are missing from the data directory "
            f"(first: {', '.join(missing[:5])}); the backup in {target} is incomplete"
        )
    manifest = Manifest(
        format=FORMAT,
        created_at=timezone.now().isoformat(),
        database={"vendor": vendor, **_file_facts(database_file)},
        data={**_file_facts(target / DATA_ARCHIVE), "files": files},
        counts=counts,
        referenced_files=len(referenced),
    )
    (target / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def backup_read(source: Path) -> Manifest:
    """The manifest of a backup folder, its files checked against their sha256."""
    source = Path(source)
    try:
        raw = json.loads((source / MANIFEST).read_text())
        manifest = Manifest(**raw)
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a backup folder") from None
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{source / MANIFEST} is not a backup manifest: {exc}") from None
    if manifest.format != FORMAT:
        raise BackupError(f"backup format {manifest.format} is not {FORMAT}: restore it with the version that made it")
    for part in (manifest.database, manifest.data):
        path = source / part["file"]
        if not path.is_file():
            raise BackupError(f"{path} is missing")
        if _sha256(path) != part["sha256"]:
            raise BackupError(f"{path} does not match its sha256 in the manifest: the backup is damaged")
    return manifest


def backup_restore(*, source: Path, replace: bool = False) -> Manifest:
    source = Path(source)
    manifest = backup_read(source)
    if manifest.database["vendor"] != connection.vendor:
        raise BackupError(
            f"the backup is of a {manifest.database['vendor']} database and this site runs on "
            f"{connection.vendor}: restore onto the same kind"
        )
    if not replace and _library_has_manga():
        raise BackupError("the database already holds manga: pass --replace to overwrite it with the backup")
    _restore_database(source / manifest.database["file"])
    _extract_data(source / manifest.data["file"])
    counts, _ = _snapshot_facts()
    if counts != manifest.counts:
        raise BackupError(f"restored rows {counts} differ from the backup's {manifest.counts}")
    return manifest


# --- Database ---------------------------------------------------------------------------------


def _snapshot_facts() -> tuple[dict[str, int], set[str]]:
    counts = {
        "manga": Manga.objects.count(),
        "chapters": Chapter.objects.count(),
        "pages": Page.objects.count(),
        "jobs": TranslationJob.objects.count(),
        "page_results": PageResult.objects.count(),
    }
    referenced = set(Page.objects.values_list("image", flat=True))
    referenced.update(PageResult.objects.exclude(output_path="").values_list("output_path", flat=True))
    referenced.update(Manga.objects.exclude(cover="").values_list("cover", flat=True))
    return counts, referenced


def _library_has_manga() -> bool:
    try:
        return Manga.objects.exists()
    except Exception:  # no tables yet (a fresh database): nothing to overwrite
        return False


def _dump_database(path: Path) -> None:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), *_pg_target(settings)], settings)
    elif connection.vendor == "sqlite":
        # SQLite's online backup: a consistent copy while workers keep writing (WAL).
        with closing(sqlite3.connect(settings["NAME"])) as live, closing(sqlite3.connect(path)) as copy:
            live.backup(copy)
    else:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {connection.vendor}")


def _restore_database(path: Path) -> None:
    settings = connection.settings_dict
    connection.close()  # nothing of ours holds the old tables while they are replaced
    if connection.vendor == "postgresql":
        restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run([*restore, *_pg_target(settings, "-d"), str(path)], settings)
    else:
        with closing(sqlite3.connect(path)) as saved, closing(sqlite3.connect(settings["NAME"])) as live:
            saved.backup(live)


def _pg_target(settings: dict, name_flag: str = "") -> list[str]:
    args = []
    if settings.get("HOST"):
        args += ["--host", str(settings["HOST"])]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", str(settings["USER"])]
    return [*args, "--no-password", *([name_flag] if name_flag else []), str(settings["NAME"])]


def _run(command: list[str], settings: dict) -> None:
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])  # never on the command line, where ps shows it
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian package postgresql-client)") from None
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


# --- Data directory ---------------------------------------------------------------------------


def _archive_data(path: Path, referenced: set[str]) -> tuple[int, list[str]]:
    root = storage.data_root().resolve()
    present: set[str] = set()
    files = 0
    with tarfile.open(path, "w") as archive:
        for entry in DATA_ENTRIES:
            top = root / entry
            if not top.exists():
                continue
            if top.is_file():
                archive.add(top, arcname=entry, recursive=False)
                files += 1
                continue
            for file in sorted(top.rglob("*")):
                if file.is_symlink() or not file.is_file() or file.name.endswith(".tmp"):
                    continue  # a write in progress, or something that is not ours
                relative = file.relative_to(root).as_posix()
                archive.add(file, arcname=relative, recursive=False)
                present.add(relative)
                files += 1
    return files, sorted(referenced - present)


def _extract_data(path: Path) -> None:
    root = storage.data_root().resolve()
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        for member in members:
            name = PurePosixPath(member.name)
            if (
                not (member.isfile() or member.isdir())
                or name.is_absolute()
                or ".." in name.parts
                or name.parts[0] not in DATA_ENTRIES
            ):
                raise BackupError(f"{path} holds {member.name!r}, which a backup never does: not restored")
        # Checked above, and the data filter refuses anything that would leave the root anyway.
        archive.extractall(root, members=members, filter="data")


def _file_facts(path: Path) -> dict:
    return {"file": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
