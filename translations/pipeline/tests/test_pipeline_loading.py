"""Stage 1 on the inputs that break naive loaders: each gives a clear PipelineError or a correct page."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from translations.pipeline.contracts import PipelineError
from translations.pipeline.loading import encode_page, load_page


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width×height and holds one tiny compressed row: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_a_truncated_jpeg_is_refused_as_corrupt():
    data = encoded(Image.new("RGB", (200, 300), "white"), "JPEG")
    with pytest.raises(PipelineError, match="corrupt or truncated") as raised:
        load_page(data[: len(data) // 2])
    assert raised.value.stage == "load"


def test_random_bytes_are_refused_as_not_an_image():
    with pytest.raises(PipelineError, match="not an image"):
        load_page(b"this is not a picture at all" * 10)


def test_a_huge_declared_size_is_refused_before_decoding():
    with pytest.raises(PipelineError, match="decompression bomb"):
        load_page(png_header_only(30000, 30000))


def test_a_one_pixel_image_loads():
    page = load_page(encoded(Image.new("RGB", (1, 1), "red"), "PNG"))
    assert page.image.shape == (1, 1, 3)
    assert page.image[0, 0].tolist() == [255, 0, 0]


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("P", (40, 30), color) for color in (1, 2, 3)]
    for frame, rgb in zip(frames, ((255, 0, 0), (0, 255, 0), (0, 0, 255)), strict=True):
        frame.putpalette([0, 0, 0, *rgb] * 128)
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    page = load_page(data)
    assert page.frames == 3
    assert page.format == "PNG"
    assert page.image[0, 0].tolist() == [255, 0, 0]


def test_a_cmyk_jpeg_becomes_rgb():
    data = encoded(Image.new("CMYK", (50, 60), (0, 255, 255, 0)), "JPEG", quality=95)
    page = load_page(data)
    assert page.image.shape == (60, 50, 3)
    red, green, blue = page.image[30, 25].tolist()
    assert red > 200 and green < 60 and blue < 60


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (80, 40), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    page = load_page(encoded(image, "JPEG", exif=exif.tobytes()))
    assert page.image.shape[:2] == (80, 40)


def test_transparent_areas_become_white():
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    page = load_page(encoded(image, "PNG"))
    assert page.image[5, 5].tolist() == [255, 255, 255]


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    array = np.full((8, 8), 30000, dtype=np.uint16)
    array[0, 0] = 60000
    page = load_page(encoded(Image.fromarray(array), "PNG"))
    assert 120 <= page.image[4, 4, 0] <= 135


def test_an_unsupported_format_is_named():
    with pytest.raises(PipelineError, match="format BMP is not supported"):
        load_page(encoded(Image.new("RGB", (10, 10)), "BMP"))


def test_too_many_bytes_are_refused():
    with pytest.raises(PipelineError, match="more than the limit of 100"):
        load_page(b"x" * 101, max_bytes=100)


def test_the_result_is_encoded_in_the_input_format():
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    for fmt in ("JPEG", "PNG", "WEBP"):
        assert Image.open(io.BytesIO(encode_page(image, fmt))).format == fmt


def test_a_size_under_pillows_own_limit_but_over_ours_is_refused_too():
    with pytest.raises(PipelineError, match="more pixels than the limit of 1000000"):
        load_page(png_header_only(2000, 2000), max_pixels=1_000_000)
