"""Korean OCR through the real tesseract program, on lines drawn with Noto Sans CJK."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from translations.pipeline.contracts import Box, PipelineError, TextLine
from translations.pipeline.evaluation import edit_distance
from translations.pipeline.tesseract import TesseractRecognizer


def korean_font() -> str:
    if shutil.which("fc-match") is None:
        pytest.skip("fontconfig is not installed")
    path = subprocess.run(
        ["fc-match", "--format=%{file}", "Noto Sans CJK KR:lang=ko"], capture_output=True, text=True, check=False
    ).stdout
    if "CJK" not in path:
        pytest.skip("Noto Sans CJK is not installed (Debian: fonts-noto-cjk)")
    return path


needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None
    or "kor" not in subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout,
    reason="tesseract with Korean data is not installed (Debian: tesseract-ocr tesseract-ocr-kor)",
)


def page_with_lines(texts: list[str]) -> tuple[np.ndarray, tuple[TextLine, ...]]:
    font = ImageFont.truetype(korean_font(), 32)
    page = Image.new("RGB", (600, 80 * len(texts) + 40), "white")
    draw = ImageDraw.Draw(page)
    lines = []
    for index, text in enumerate(texts):
        x, y = 40, 30 + 80 * index
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        draw.text((x, y), text, font=font, fill="black")
        box = Box(left, top, right - left, bottom - top)  # type: ignore[arg-type]
        corners = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
        lines.append(TextLine(box=box, polygon=corners, vertical=False))
    return np.asarray(page), tuple(lines)


@needs_tesseract
def test_it_reads_korean_lines_back_in_order():
    texts = ["안녕하세요", "고맙습니다 친구", "여기서 뭐 해?"]
    image, lines = page_with_lines(texts)

    read = TesseractRecognizer().read(image, lines, "ko")

    # Tesseract's Korean model is the fallback engine, not a perfect one: allow one slip in twenty.
    got = "|".join(line.text.replace(" ", "") for line in read)
    want = "|".join(text.replace(" ", "") for text in texts)
    assert edit_distance(got, want) / len(want) <= 0.05, got
    assert all(0 <= line.confidence <= 1 for line in read)
    assert read[0].confidence > 0.5  # read exactly, and sure of it
    assert [line.box for line in read] == [line.box for line in lines]


def test_a_language_without_tesseract_data_is_a_clear_error():
    with pytest.raises(PipelineError, match="not set up for 'ja'"):
        TesseractRecognizer().read(np.zeros((10, 10, 3), np.uint8), (), "ja")


def test_a_missing_program_is_a_clear_error():
    image = np.full((60, 200, 3), 255, np.uint8)
    line = TextLine(box=Box(10, 10, 100, 30), polygon=((10, 10),), vertical=False)
    with pytest.raises(PipelineError, match="tesseract program is missing"):
        TesseractRecognizer(binary="no-such-tesseract").read(image, (line,), "ko")
