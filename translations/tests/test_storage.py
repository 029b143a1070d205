"""Storage: paths that cannot escape the data directory, atomic writes, and images checked on the way in."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from translations import storage


def image_bytes(fmt: str, size: tuple[int, int] = (60, 80), seed: int = 1) -> bytes:
    """A small real image with noisy content, so that truncating it cuts into the pixel data."""
    pixels = hashlib.shake_256(f"noise {seed}".encode()).digest(size[0] * size[1] * 3)
    image = Image.frombytes("RGB", size, pixels)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def listing(folder) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


# --- resolve_path and page_path ---------------------------------------------------------


@pytest.mark.parametrize("relative", ["../x", "/etc/passwd", "a/../../x", "a\\..\\x", "a/\x00b", "", "."])
def test_resolve_path_refuses_paths_that_could_escape(relative):
    with pytest.raises(storage.StorageError, match="refusing path"):
        storage.resolve_path(relative)


def test_resolve_path_refuses_a_link_out_of_the_data_directory(data_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (data_dir / "raw").symlink_to(outside)

    with pytest.raises(storage.StorageError, match="refusing path"):
        storage.resolve_path("raw/secret.jpg")


def test_resolve_path_gives_a_path_under_the_data_directory(data_dir):
    assert storage.resolve_path("raw/blue-sky/1/001.jpg") == data_dir.resolve() / "raw/blue-sky/1/001.jpg"


def test_page_path_numbers_pages_with_three_digits():
    assert storage.page_path(storage.RAW_DIR, "blue-sky", "10.5", 7, "png") == "raw/blue-sky/10.5/007.png"


@pytest.mark.parametrize("segment", ["", "..", ".", "a/b"])
def test_page_path_refuses_bad_segments(segment):
    with pytest.raises(storage.StorageError, match="refusing path segment"):
        storage.page_path(storage.RAW_DIR, segment, "1", 1, "jpg")


def test_page_path_refuses_an_unknown_area():
    with pytest.raises(storage.StorageError, match="unknown storage area"):
        storage.page_path("etc", "blue-sky", "1", 1, "jpg")


# --- write_atomic, move, delete --------------------------------------------------------


def test_write_atomic_writes_the_file_and_leaves_no_temporary_files(data_dir):
    path = storage.write_atomic("raw/blue-sky/1/001.jpg", b"page one")

    assert path.read_bytes() == b"page one"
    assert listing(data_dir) == ["raw", "raw/blue-sky", "raw/blue-sky/1", "raw/blue-sky/1/001.jpg"]


def test_write_atomic_replaces_an_existing_file(data_dir):
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"old")
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"new")

    assert (data_dir / "raw/blue-sky/1/001.jpg").read_bytes() == b"new"
    assert listing(data_dir / "raw/blue-sky/1") == ["001.jpg"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_files(data_dir, monkeypatch):
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        storage.write_atomic("raw/blue-sky/1/001.jpg", b"new")

    assert (data_dir / "raw/blue-sky/1/001.jpg").read_bytes() == b"old"
    assert listing(data_dir / "raw/blue-sky/1") == ["001.jpg"]


def test_write_atomic_refuses_a_path_that_escapes(data_dir, tmp_path):
    with pytest.raises(storage.StorageError):
        storage.write_atomic("../evil.jpg", b"x")

    assert not (tmp_path / "evil.jpg").exists()


def test_move_puts_a_file_in_place_and_replaces_what_was_there(data_dir):
    storage.write_atomic("raw/blue-sky/1/.staged", b"new")
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"old")

    storage.move("raw/blue-sky/1/.staged", "raw/blue-sky/1/001.jpg")

    assert listing(data_dir / "raw/blue-sky/1") == ["001.jpg"]
    assert (data_dir / "raw/blue-sky/1/001.jpg").read_bytes() == b"new"


def test_move_refuses_a_target_that_escapes(data_dir):
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"page")

    with pytest.raises(storage.StorageError):
        storage.move("raw/blue-sky/1/001.jpg", "../001.jpg")

    assert (data_dir / "raw/blue-sky/1/001.jpg").exists()


def test_delete_removes_the_folders_it_empties_but_not_the_area_root(data_dir):
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"page")

    storage.delete("raw/blue-sky/1/001.jpg")

    assert listing(data_dir) == ["raw"]


def test_delete_keeps_folders_that_still_hold_files(data_dir):
    storage.write_atomic("raw/blue-sky/1/001.jpg", b"one")
    storage.write_atomic("raw/blue-sky/2/001.jpg", b"two")

    storage.delete("raw/blue-sky/1/001.jpg")

    assert listing(data_dir) == ["raw", "raw/blue-sky", "raw/blue-sky/2", "raw/blue-sky/2/001.jpg"]


def test_delete_of_a_missing_file_is_not_an_error(data_dir):
    storage.delete("raw/blue-sky/1/001.jpg")

    assert listing(data_dir) == []


# --- validate_image --------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "extension"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif")])
def test_validate_image_accepts_the_allowed_formats(fmt, extension):
    data = image_bytes(fmt, size=(60, 80))

    info = storage.validate_image(data, "page.x")

    assert info == storage.ImageInfo(
        width=60,
        height=80,
        format=fmt,
        extension=extension,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_validate_image_refuses_formats_that_are_not_allowed(fmt):
    with pytest.raises(storage.InvalidImage, match=rf"page\.x: format {fmt} is not allowed"):
        storage.validate_image(image_bytes(fmt), "page.x")


def test_validate_image_refuses_bytes_that_are_not_an_image():
    with pytest.raises(storage.InvalidImage, match=r"page\.jpg: not an image"):
        storage.validate_image(hashlib.shake_256(b"not an image").digest(2000), "page.jpg")


def test_validate_image_refuses_a_truncated_image():
    data = image_bytes("JPEG", size=(200, 200))

    with pytest.raises(storage.InvalidImage, match=r"page\.jpg: the image is corrupt or truncated"):
        storage.validate_image(data[: len(data) // 2], "page.jpg")


def test_validate_image_refuses_an_empty_file():
    with pytest.raises(storage.InvalidImage, match=r"page\.jpg: the file is empty"):
        storage.validate_image(b"", "page.jpg")


def test_validate_image_refuses_too_many_bytes(settings):
    settings.MANGA_MAX_IMAGE_BYTES = 100
    data = image_bytes("PNG")

    with pytest.raises(storage.InvalidImage, match=rf"page\.png: {len(data)} bytes is more than the limit of 100"):
        storage.validate_image(data, "page.png")


def test_validate_image_refuses_too_many_pixels(settings):
    settings.MANGA_MAX_IMAGE_PIXELS = 100

    with pytest.raises(storage.InvalidImage, match=r"page\.png: 20x20 is 400 pixels, more than the limit of 100"):
        storage.validate_image(image_bytes("PNG", size=(20, 20)), "page.png")


def test_validate_image_refuses_a_header_claiming_more_pixels_than_the_limit():
    # 8000x8000 is over our 60 Mpx limit but under Pillow's own bomb limit: our check speaks.
    with pytest.raises(storage.InvalidImage, match=r"bomb\.png: 8000x8000 is 64000000 pixels"):
        storage.validate_image(png_declaring(8000, 8000), "bomb.png")


def test_validate_image_refuses_a_decompression_bomb():
    with pytest.raises(storage.InvalidImage, match=r"bomb\.png: the image is a decompression bomb"):
        storage.validate_image(png_declaring(20000, 20000), "bomb.png")
