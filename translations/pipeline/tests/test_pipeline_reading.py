"""The reading half of the pipeline (detect, OCR, group) on generated pages, with the real ONNX models."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from translations.pipeline import registry
from translations.pipeline.contracts import Balloon, Box, Flag, PipelineError, TextLine
from translations.pipeline.grouping import group_lines, read_page
from translations.pipeline.tests.paths import FONTS, model_dir

CJK_FONT = FONTS / "NotoSansCJKjp-Regular-subset.otf"
LATIN_FONT = FONTS / "ComicNeue-Bold.otf"


@pytest.fixture(scope="module")
def stages():
    missing = [
        spec.name
        for spec in registry.default_manifest().values()
        if not spec.optional and registry.state_of(spec, model_dir()) is not registry.ModelState.PRESENT
    ]
    if missing:
        pytest.skip(f"models not fetched ({', '.join(missing)}): run `python manage.py models fetch`")
    for font in (CJK_FONT, LATIN_FONT):
        if not font.is_file():
            pytest.skip(f"bundled font {font} is absent")
    from translations.pipeline.detection import OnnxDetector
    from translations.pipeline.ocr import OnnxRecognizer

    return OnnxDetector(model_dir()), OnnxRecognizer(model_dir())


def read(stages, page: Image.Image, language: str = "ja", rtl: bool = True):
    detector, recognizer = stages
    image = np.asarray(page.convert("RGB"))
    return read_page(image, detector=detector, recognizer=recognizer, language=language, rtl=rtl)


def blank_page() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    page = Image.new("L", (820, 1160), 255)
    return page, ImageDraw.Draw(page)


def balloon(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    draw.ellipse(box, outline=0, width=3, fill=255)


def column(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, size: int = 30) -> int:
    """Draw `text` as a vertical column, one upright glyph per cell; returns the y after the last cell."""
    font = ImageFont.truetype(str(CJK_FONT), size)
    for char in text:
        draw.text((x, y), char, font=font, fill=0)
        y += int(size * 1.15)
    return y


def test_it_reads_vertical_columns_right_to_left_with_a_closing_double_mark(stages):
    page, draw = blank_page()
    balloon(draw, (470, 60, 760, 520))
    column(draw, 620, 140, "こんにちは")
    end = column(draw, 570, 140, "元気ですか")
    draw.text((570, end), "!!", font=ImageFont.truetype(str(CJK_FONT), 30), fill=0)  # upright, one cell
    balloon(draw, (120, 80, 380, 480))
    column(draw, 260, 170, "ありがとう")

    blocks = read(stages, page)

    assert [b.source_text for b in blocks] == ["こんにちは元気ですか!!", "ありがとう"]
    assert [b.id for b in blocks] == [1, 2]
    assert all(b.vertical and b.balloon is not None and not b.flags for b in blocks)
    assert blocks[0].box.x > blocks[1].box.right  # the right-hand balloon is read first


def test_it_keeps_furigana_out_of_the_text(stages):
    page, draw = blank_page()
    balloon(draw, (250, 100, 570, 560))
    column(draw, 420, 200, "漢字です")
    column(draw, 455, 205, "かんじ", size=13)  # the reading, beside its kanji

    blocks = read(stages, page)

    assert [b.source_text for b in blocks] == ["漢字です"]


def test_it_reads_horizontal_english_and_chinese_left_to_right(stages):
    page, draw = blank_page()
    balloon(draw, (80, 650, 420, 850))
    draw.text((130, 720), "HELLO THERE", font=ImageFont.truetype(str(LATIN_FONT), 30), fill=0)
    balloon(draw, (470, 650, 780, 850))
    draw.text((530, 730), "你好世界", font=ImageFont.truetype(str(CJK_FONT), 30), fill=0)

    english, chinese = read(stages, page, language="en", rtl=False)

    assert (english.source_text, english.vertical) == ("HELLO THERE", False)
    assert chinese.source_text == "你好世界"
    assert [b.source_text for b in read(stages, page, language="zh", rtl=True)] == ["你好世界", "HELLO THERE"]


def test_big_free_text_outside_balloons_is_a_sound_effect(stages):
    page, draw = blank_page()
    balloon(draw, (470, 60, 760, 520))
    column(draw, 600, 160, "まって")
    column(draw, 120, 500, "ドン", size=150)

    blocks = read(stages, page)

    texts = {b.source_text: b.flags for b in blocks}
    assert texts["まって"] == frozenset()
    others = [flags for text, flags in texts.items() if text != "まって"]
    assert len(others) == 1 and Flag.SFX in others[0]


def test_korean_without_its_model_is_refused_with_what_to_fetch(stages):
    _, recognizer = stages
    line = TextLine(box=Box(0, 0, 10, 10), polygon=((0, 0), (10, 0), (10, 10), (0, 10)), vertical=False)
    with pytest.raises(PipelineError, match="models fetch ppocr-korean-rec") as caught:
        recognizer.read(np.full((20, 20, 3), 255, np.uint8), (line,), "ko")
    assert caught.value.stage == "ocr"


def _line(x: int, y: int, w: int, h: int, text: str, confidence: float = 0.95) -> TextLine:
    polygon = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
    return TextLine(Box(x, y, w, h), polygon, vertical=h > w, text=text, confidence=confidence)


def test_grouping_drops_page_numbers_and_flags_low_confidence():
    mask = np.ones((200, 100), bool)
    bubble = Balloon(box=Box(500, 100, 100, 200), mask=mask)
    lines = [
        _line(540, 120, 25, 150, "ほんとうに", confidence=0.4),
        _line(400, 1120, 20, 20, "12"),
        _line(100, 100, 25, 120, "ナレーション"),
    ]

    blocks = group_lines(lines, [bubble], rtl=True)

    assert [(b.source_text, b.flags) for b in blocks] == [
        ("ほんとうに", frozenset({Flag.LOW_CONFIDENCE})),
        ("ナレーション", frozenset()),
    ]
    assert blocks[0].balloon is bubble and blocks[1].balloon is None


def test_grouping_splits_one_balloon_mask_holding_two_separate_texts():
    mask = np.ones((300, 400), bool)  # two touching balloons the segmenter merged
    merged = Balloon(box=Box(100, 100, 400, 300), mask=mask)
    lines = [_line(420, 130, 25, 120, "みぎ"), _line(150, 200, 25, 120, "ひだり")]

    blocks = group_lines(lines, [merged], rtl=True)

    assert [b.source_text for b in blocks] == ["みぎ", "ひだり"]
