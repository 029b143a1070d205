"""`import_chapter` and the chapter_import service: what is stored, and that a refusal changes nothing."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from translations import storage
from translations.models import Chapter, Manga, Page
from translations.services.imports import ImportRefused, chapter_import

pytestmark = pytest.mark.django_db


def noise(size: int, seed: int) -> bytes:
    """Deterministic bytes that look random."""
    return hashlib.shake_256(f"noise {seed}".encode()).digest(size)


def page(width: int = 60, height: int = 80, *, seed: int = 0, fmt: str = "JPEG") -> bytes:
    """A small real page; each seed draws a different picture, so every page has its own sha256."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    values = noise(6 * 5, seed)
    for box in range(6):
        x, y, red, green, blue = values[box * 5 : box * 5 + 5]
        draw.rectangle((x % width, y % height, x % width + 15, y % height + 15), fill=(red, green, blue))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def noisy_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (200, 200), noise(200 * 200 * 3, seed=5)).save(buffer, format="JPEG")
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def make_zip(path: Path, files: dict[str | zipfile.ZipInfo, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def state(data_dir: Path) -> tuple:
    """Row counts, and every path under the data directory with, for files, content and mtime."""
    paths = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            paths.append((path.relative_to(data_dir).as_posix(), path.read_bytes(), path.stat().st_mtime_ns))
        else:
            paths.append((path.relative_to(data_dir).as_posix(), "folder", None))  # type: ignore[arg-type]
    return Manga.objects.count(), Chapter.objects.count(), Page.objects.count(), paths


def import_chapter(source: Path, **options) -> str:
    options = {"manga": "Blue Sky", "chapter": "1", **options}
    out = io.StringIO()
    call_command("import_chapter", str(source), stdout=out, **options)
    return out.getvalue()


def assert_refused(data_dir: Path, source: Path, match: str, **options) -> None:
    before = state(data_dir)
    with pytest.raises(CommandError, match=match):
        import_chapter(source, **options)
    assert state(data_dir) == before


THREE_PAGES = {"1.jpg": page(60, 80, seed=1), "2.jpg": page(61, 81, seed=2), "10.jpg": page(62, 82, seed=3)}


# --- Imports that succeed ----------------------------------------------------------------


def test_it_imports_a_folder_in_natural_order(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    output = import_chapter(source)

    assert output.strip() == "Imported 3 pages into Blue Sky chapter 1"
    manga = Manga.objects.get()
    assert (manga.slug, manga.title, manga.source_language) == ("blue-sky", "Blue Sky", "ja")
    assert manga.cover == "raw/blue-sky/1/001.jpg"
    chapter = Chapter.objects.get()
    assert (chapter.manga, chapter.number, chapter.title) == (manga, Decimal("1"), "")
    pages = list(chapter.pages.order_by("index"))
    for index, (name, (width, height)) in enumerate([("1.jpg", (60, 80)), ("2.jpg", (61, 81)), ("10.jpg", (62, 82))]):
        data = THREE_PAGES[name]
        stored = pages[index]
        assert stored.index == index + 1
        assert stored.image == f"raw/blue-sky/1/{index + 1:03d}.jpg"
        assert (stored.width, stored.height) == (width, height)
        assert (stored.size_bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert (data_dir / stored.image).read_bytes() == data
    assert sorted(p.name for p in (data_dir / "raw/blue-sky/1").iterdir()) == ["001.jpg", "002.jpg", "003.jpg"]


@pytest.mark.parametrize("suffix", [".zip", ".cbz", ".CBZ"])
def test_it_imports_an_archive(tmp_path, data_dir, suffix):
    files = {"Chapter 1/page 10.png": page(seed=3, fmt="PNG"), "Chapter 1/page 9.png": page(seed=2, fmt="PNG")}
    source = make_zip(tmp_path / f"chapter{suffix}", {"Chapter 1/": b"", **files})

    output = import_chapter(source, chapter="12.5", title="The Storm")

    assert output.strip() == "Imported 2 pages into Blue Sky chapter 12.5"
    chapter = Chapter.objects.get()
    assert (chapter.number, chapter.title) == (Decimal("12.5"), "The Storm")
    assert [(p.image, p.sha256) for p in chapter.pages.order_by("index")] == [
        ("raw/blue-sky/12.5/001.png", hashlib.sha256(files["Chapter 1/page 9.png"]).hexdigest()),
        ("raw/blue-sky/12.5/002.png", hashlib.sha256(files["Chapter 1/page 10.png"]).hexdigest()),
    ]
    assert (data_dir / "raw/blue-sky/12.5/002.png").read_bytes() == files["Chapter 1/page 10.png"]


def test_it_sorts_names_naturally_and_ignoring_case(tmp_path):
    names = ["Page 10.jpg", "page 9.jpg", "PAGE 1.jpg", "b/2.jpg", "a/10.jpg", "a/2.jpg"]
    source = make_folder(tmp_path / "chapter", {name: page(seed=i) for i, name in enumerate(names)})

    import_chapter(source)

    expected = ["a/2.jpg", "a/10.jpg", "b/2.jpg", "PAGE 1.jpg", "page 9.jpg", "Page 10.jpg"]
    expected_sha = [hashlib.sha256(page(seed=names.index(name))).hexdigest() for name in expected]
    assert list(Page.objects.order_by("index").values_list("sha256", flat=True)) == expected_sha


def test_it_ignores_junk_files(tmp_path, data_dir):
    junk = {
        "ComicInfo.xml": b"<ComicInfo/>",
        ".DS_Store": b"\x00\x01junk",
        "Thumbs.db": b"junk",
        "__MACOSX/._1.jpg": b"resource fork",
        ".hidden/1.jpg": b"not even an image",
    }
    folder = make_folder(tmp_path / "folder", {**THREE_PAGES, **junk})
    archive = make_zip(tmp_path / "chapter.cbz", {**THREE_PAGES, **junk, "__MACOSX/": b""})

    import_chapter(folder, chapter="1")
    import_chapter(archive, chapter="2")

    for number in (1, 2):
        assert Chapter.objects.get(number=number).pages.count() == 3


def test_reimporting_the_same_pages_changes_nothing(tmp_path, data_dir):
    folder = make_folder(tmp_path / "chapter", THREE_PAGES)
    import_chapter(folder)
    before = state(data_dir)

    again = import_chapter(folder, chapter="1.00")
    from_archive = import_chapter(make_zip(tmp_path / "chapter.cbz", THREE_PAGES))

    assert again.strip() == "Blue Sky chapter 1 is already imported (3 pages); nothing changed"
    assert from_archive == again
    assert state(data_dir) == before


def test_it_adds_a_chapter_to_an_existing_manga_and_keeps_its_cover(tmp_path, data_dir):
    import_chapter(make_folder(tmp_path / "one", THREE_PAGES), lang="ja")

    output = import_chapter(make_folder(tmp_path / "two", {"1.webp": page(seed=9, fmt="WEBP")}), chapter="2")

    assert output.strip() == "Imported 1 pages into Blue Sky chapter 2"
    manga = Manga.objects.get()
    assert manga.cover == "raw/blue-sky/1/001.jpg"
    assert list(manga.chapters.values_list("number", flat=True)) == [Decimal("1"), Decimal("2")]
    assert (data_dir / "raw/blue-sky/2/001.webp").is_file()


def test_it_fills_a_chapter_that_has_no_pages_yet(tmp_path):
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky", cover="raw/blue-sky/0/001.jpg")
    Chapter.objects.create(manga=manga, number=1, title="Kept")

    import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES))

    chapter = Chapter.objects.get()
    assert (chapter.title, chapter.pages.count()) == ("Kept", 3)
    assert Manga.objects.get().cover == "raw/blue-sky/0/001.jpg"


def test_it_makes_a_unicode_slug_for_a_title_without_latin_letters(tmp_path, data_dir):
    import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES), manga="青い空", lang="zh")

    manga = Manga.objects.get()
    assert (manga.slug, manga.source_language) == ("青い空", "zh")
    assert (data_dir / "raw/青い空/1/001.jpg").is_file()


def test_it_uses_the_slug_given(tmp_path):
    import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES), manga="!!!", slug="bangs")

    assert Manga.objects.get().slug == "bangs"


def test_it_prints_nothing_at_verbosity_zero(tmp_path):
    output = import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES), verbosity=0)

    assert output == ""
    assert Page.objects.count() == 3


def test_it_logs_one_line_per_import(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="translations.services.imports")

    import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES))

    assert [r.getMessage() for r in caplog.records] == ["chapter import: manga=blue-sky chapter=1 pages=3 imported"]


# --- Refusals: nothing in the database or under the data directory changes ---------------


def test_it_refuses_to_reimport_a_chapter_with_different_pages(tmp_path, data_dir):
    import_chapter(make_folder(tmp_path / "one", THREE_PAGES))
    other = make_folder(tmp_path / "other", {**THREE_PAGES, "2.jpg": page(seed=99)})

    assert_refused(data_dir, other, "already has 3 pages that differ.*delete the chapter")


def test_it_refuses_a_file_that_is_not_an_image(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", {**THREE_PAGES, "notes.txt": b"translator notes"})

    assert_refused(data_dir, source, r"notes\.txt: not an image")


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("5.jpg", noisy_jpeg()[:3000], "corrupt or truncated"),
        ("5.jpg", noise(3000, seed=1), "not an image"),
        ("5.png", page(fmt="PNG")[:-30], "corrupt or truncated"),
    ],
)
def test_it_refuses_a_corrupt_image(tmp_path, data_dir, name, data, problem):
    source = make_folder(tmp_path / "chapter", {**THREE_PAGES, name: data})

    assert_refused(data_dir, source, rf"{name}: .*{problem}")


def test_it_refuses_an_image_format_that_is_not_allowed(tmp_path, data_dir):
    source = make_zip(tmp_path / "chapter.zip", {**THREE_PAGES, "4.bmp": page(fmt="BMP")})

    assert_refused(data_dir, source, r"4\.bmp: format BMP is not allowed")


@pytest.mark.parametrize("name", ["../evil.jpg", "pages/../../evil.jpg", "..\\evil.jpg", "__MACOSX/../../evil.jpg"])
def test_it_refuses_an_archive_entry_that_points_outside(tmp_path, data_dir, name):
    source = make_zip(tmp_path / "chapter.zip", {**THREE_PAGES, name: page(seed=7)})

    assert_refused(data_dir, source, "points outside the archive")
    assert not (tmp_path / "evil.jpg").exists()


@pytest.mark.parametrize("name", ["/home/evil.jpg", "C:\\evil.jpg", "C:/evil.jpg"])
def test_it_refuses_an_archive_entry_with_an_absolute_path(tmp_path, data_dir, name):
    source = tmp_path / "chapter.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for page_name, data in THREE_PAGES.items():
            archive.writestr(page_name, data)
        # ZipFile.writestr strips a leading "/" from names; a ZipInfo set afterwards keeps it.
        info = zipfile.ZipInfo("placeholder.jpg")
        info.filename = name
        archive.writestr(info, page(seed=7))

    assert_refused(data_dir, source, "has an absolute path")


def test_it_refuses_a_symbolic_link_in_an_archive(tmp_path, data_dir):
    link = zipfile.ZipInfo("4.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    source = make_zip(tmp_path / "chapter.zip", {**THREE_PAGES, link: b"/etc/passwd"})

    assert_refused(data_dir, source, r"'4\.jpg' is a symbolic link")


def test_it_refuses_a_link_from_the_folder_to_outside(tmp_path, data_dir):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(page(seed=8))
    source = make_folder(tmp_path / "chapter", THREE_PAGES)
    (source / "4.jpg").symlink_to(secret)

    assert_refused(data_dir, source, r"4\.jpg is a link to outside the folder")


def test_it_refuses_a_zip_bomb(tmp_path, data_dir):
    zeros = b"\x00" * (50 * 1024 * 1024)  # deflates to about 50 KiB
    source = make_zip(tmp_path / "chapter.zip", {**THREE_PAGES, "4.jpg": zeros})
    assert source.stat().st_size < 200 * 1024

    assert_refused(data_dir, source, r"4\.jpg would expand \d+ times.*zip bomb")


@pytest.mark.parametrize(
    ("size", "problem"), [((20000, 20000), "decompression bomb"), ((8000, 8000), "64000000 pixels, more than")]
)
def test_it_refuses_an_image_that_declares_too_many_pixels(tmp_path, data_dir, size, problem):
    source = make_zip(tmp_path / "chapter.zip", {**THREE_PAGES, "4.png": png_declaring(*size)})

    assert_refused(data_dir, source, rf"4\.png: .*{problem}")


def test_it_refuses_an_archive_entry_whose_declared_size_is_false(tmp_path, data_dir):
    source = tmp_path / "chapter.zip"
    with zipfile.ZipFile(source, "w") as archive:  # stored, so the sizes are easy to find
        for name, data in THREE_PAGES.items():
            archive.writestr(name, data)
    raw = bytearray(source.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        struct.pack_into("<I", raw, raw.find(signature) + offset, 100)
    source.write_bytes(bytes(raw))

    assert_refused(data_dir, source, r"1\.jpg cannot be read")


def test_it_refuses_a_page_larger_than_the_image_limit(tmp_path, data_dir, settings):
    settings.MANGA_MAX_IMAGE_BYTES = 600
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, r"\d+\.jpg is \d+ bytes, more than the limit of 600 bytes per page")


def test_it_refuses_more_files_than_the_limit(tmp_path, data_dir, settings):
    settings.MANGA_IMPORT_MAX_FILES = 2
    source = make_zip(tmp_path / "chapter.zip", THREE_PAGES)

    assert_refused(data_dir, source, "more than 2 files, the import limit")


def test_it_refuses_more_bytes_than_the_import_limit(tmp_path, data_dir, settings):
    settings.MANGA_IMPORT_MAX_BYTES = sum(len(data) for data in THREE_PAGES.values()) - 1
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, r"add up to more than \d+ bytes, the import limit")


def test_it_refuses_a_corrupt_archive(tmp_path, data_dir):
    source = tmp_path / "chapter.cbz"
    source.write_bytes(noise(5000, seed=4))

    assert_refused(data_dir, source, r"chapter\.cbz is not a readable zip archive")


def test_it_refuses_a_source_without_pages(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", {"ComicInfo.xml": b"<ComicInfo/>"})

    assert_refused(data_dir, source, "holds no page images")


def test_it_refuses_a_source_that_is_not_a_folder_or_zip(tmp_path, data_dir):
    rar = tmp_path / "chapter.rar"
    rar.write_bytes(b"Rar!")

    assert_refused(data_dir, rar, r"chapter\.rar is not a folder, a \.zip or a \.cbz")
    assert_refused(data_dir, tmp_path / "missing", "does not exist")


def test_it_refuses_an_unknown_language(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, "Unknown source language 'xx'; use one of: ja, ko, zh, en", lang="xx")
    assert_refused(data_dir, source, "Unknown source language 'fr'", lang="fr")


def test_it_refuses_a_language_that_differs_from_the_mangas(tmp_path, data_dir):
    import_chapter(make_folder(tmp_path / "one", THREE_PAGES))
    two = make_folder(tmp_path / "two", {"1.jpg": page(seed=20)})

    assert_refused(data_dir, two, "Blue Sky is read from 'ja', not 'ko'", chapter="2", lang="ko")


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("one", "--chapter 'one' is not a number"),
        ("", "--chapter '' is not a number"),
        ("-1", "--chapter '-1' is not a usable chapter number"),
        ("NaN", "--chapter 'NaN' is not a usable chapter number"),
        ("Infinity", "--chapter 'Infinity' is not a usable chapter number"),
        ("1.234", r"Chapter number 1\.234 has more than 2 decimal places"),
        ("1000000", "Chapter number 1000000 is not usable; give a number from 0 up to 999999.99"),
    ],
)
def test_it_refuses_an_invalid_chapter_number(tmp_path, data_dir, number, problem):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, problem, chapter=number)


def test_it_asks_for_a_slug_when_the_title_makes_none(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, "gives no usable slug; give one with --slug", manga="!!! ???")
    assert_refused(data_dir, source, "'Not A Slug' is not a usable slug", slug="Not A Slug")


# --- Failures after files were written --------------------------------------------------


def files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def test_a_database_failure_for_a_new_manga_leaves_no_rows_and_no_files(tmp_path, data_dir, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Page.objects, "bulk_create", fail)

    with pytest.raises(RuntimeError, match="database went away"):
        import_chapter(make_folder(tmp_path / "chapter", THREE_PAGES))

    assert (Manga.objects.count(), Chapter.objects.count(), Page.objects.count()) == (0, 0, 0)
    assert files_under(data_dir) == []


def test_a_failure_while_moving_files_into_place_leaves_no_rows_and_no_files(tmp_path, data_dir, monkeypatch):
    import_chapter(make_folder(tmp_path / "one", THREE_PAGES))
    before = state(data_dir)
    real_move = storage.move
    moves = []

    def fail_on_the_second_move(source, target):
        moves.append(target)
        if len(moves) == 2:
            raise OSError("disk unplugged")
        return real_move(source, target)

    monkeypatch.setattr(storage, "move", fail_on_the_second_move)

    with pytest.raises(OSError, match="disk unplugged"):
        import_chapter(make_folder(tmp_path / "two", {"1.jpg": page(seed=30), "2.jpg": page(seed=31)}), chapter="2")

    assert state(data_dir) == before


def test_an_import_that_loses_a_race_leaves_the_winners_files_alone(tmp_path, data_dir, monkeypatch):
    winner = {"1.jpg": page(seed=40), "2.jpg": page(seed=41)}
    winner_source = make_folder(tmp_path / "winner", winner)
    real_write = storage.write_atomic
    raced = []

    def another_import_wins_meanwhile(relative, data):
        if not raced:
            raced.append(True)
            chapter_import(source=winner_source, manga_title="Blue Sky", chapter_number=Decimal(1))
        return real_write(relative, data)

    monkeypatch.setattr(storage, "write_atomic", another_import_wins_meanwhile)

    with pytest.raises(ImportRefused, match="filled by another import meanwhile"):
        chapter_import(
            source=make_folder(tmp_path / "loser", THREE_PAGES), manga_title="Blue Sky", chapter_number=Decimal(1)
        )

    assert files_under(data_dir) == ["raw/blue-sky/1/001.jpg", "raw/blue-sky/1/002.jpg"]
    assert (data_dir / "raw/blue-sky/1/002.jpg").read_bytes() == winner["2.jpg"]
    assert Page.objects.count() == 2


# --- The real command line --------------------------------------------------------------


@pytest.mark.skipif("DATABASE_URL" in os.environ, reason="the command line runs on the embedded SQLite setup")
def test_the_command_line_exits_non_zero_with_the_reason_and_zero_on_success(tmp_path):
    cli_data = tmp_path / "cli-data"
    cli_data.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEBUG="1", MANGA_DATA_DIR=str(cli_data))

    def manage(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(
            command, cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "-v0").returncode == 0
    evil = make_zip(tmp_path / "evil.cbz", {**THREE_PAGES, "../evil.jpg": page(seed=7)})
    good = make_folder(tmp_path / "chapter", THREE_PAGES)

    refused = manage("import_chapter", str(evil), "--manga", "Blue Sky", "--chapter", "1")
    imported = manage("import_chapter", str(good), "--manga", "Blue Sky", "--chapter", "1", "--lang", "ja")

    assert refused.returncode != 0
    assert "CommandError: The archive entry '../evil.jpg' points outside the archive" in refused.stderr
    assert not (tmp_path / "evil.jpg").exists()
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "Imported 3 pages into Blue Sky chapter 1"
    assert files_under(cli_data / "raw") == ["blue-sky/1/001.jpg", "blue-sky/1/002.jpg", "blue-sky/1/003.jpg"]


# --- Refusals that used to be tracebacks ---------------------------------------------------


def test_it_refuses_a_link_that_loops(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)
    (source / "4.jpg").symlink_to(source / "5.jpg")
    (source / "5.jpg").symlink_to(source / "4.jpg")

    assert_refused(data_dir, source, r"[45]\.jpg is a link that loops or leads nowhere")


def test_it_refuses_a_slug_over_255_bytes_in_utf_8(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, "at most 120 characters and 255 bytes in UTF-8", slug="あ" * 100)


def test_a_long_title_in_kana_makes_a_slug_that_fits_a_file_name(tmp_path, data_dir):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    import_chapter(source, manga="進撃" * 100)

    slug = Manga.objects.get().slug
    assert len(slug.encode()) <= 255
    assert (data_dir / "raw" / slug / "1" / "001.jpg").is_file()


@pytest.mark.parametrize(("option", "what"), [("manga", "manga title"), ("title", "chapter title")])
def test_it_refuses_a_title_over_300_characters(tmp_path, data_dir, option, what):
    source = make_folder(tmp_path / "chapter", THREE_PAGES)

    assert_refused(data_dir, source, f"The {what} is 301 characters long; the limit is 300", **{option: "x" * 301})


def test_each_refusal_is_one_line_and_a_non_zero_exit_from_the_command_line(tmp_path):
    cli_data = tmp_path / "cli-data"
    cli_data.mkdir()  # the embedded database file lives in it
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEBUG="1", MANGA_DATA_DIR=str(cli_data))

    def manage(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(
            command, cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "-v0").returncode == 0
    looping = make_folder(tmp_path / "looping", THREE_PAGES)
    (looping / "4.jpg").symlink_to(looping / "4.jpg")
    good = make_folder(tmp_path / "chapter", THREE_PAGES)
    cases = [
        (looping, ["--manga", "Blue Sky"]),
        (good, ["--manga", "Blue Sky", "--slug", "あ" * 100]),
        (good, ["--manga", "x" * 301]),
        (good, ["--manga", "Blue Sky", "--title", "y" * 301]),
    ]
    for source, options in cases:
        refused = manage("import_chapter", str(source), "--chapter", "1", *options)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith("CommandError: ")
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not (cli_data / "raw").exists() or files_under(cli_data / "raw") == []
