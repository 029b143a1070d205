"""The whole page pipeline with the real models: what is read, erased, lettered and reported."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from translations.pipeline import registry
from translations.pipeline.contracts import PipelineError, TranslationRequest, TranslationResult
from translations.pipeline.factory import build_pipeline, get_translator
from translations.pipeline.tests.paths import FONTS, model_dir

CJK_FONT = FONTS / "NotoSansCJKjp-Regular-subset.otf"


@pytest.fixture(scope="module")
def pipeline():
    missing = [
        spec.name
        for spec in registry.default_manifest().values()
        if not spec.optional and registry.state_of(spec, model_dir()) is not registry.ModelState.PRESENT
    ]
    if missing:
        pytest.skip(f"models not fetched ({', '.join(missing)}): run `python manage.py models fetch`")
    if not CJK_FONT.is_file():
        pytest.skip(f"bundled font {CJK_FONT} is absent")
    return build_pipeline(model_dir())


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def draw_balloon(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], columns: list[str], size: int = 30):
    draw.ellipse(box, outline="black", width=3, fill="white")
    font = ImageFont.truetype(str(CJK_FONT), size)
    centre_x = (box[0] + box[2]) // 2
    x = centre_x + (len(columns) - 1) * size // 2 * 1.3
    for text in columns:  # right to left, top to bottom: Japanese reading order
        y = box[1] + (box[3] - box[1] - len(text) * size * 1.15) // 2
        for char in text:
            draw.text((x - size // 2, y), char, font=font, fill="black")
            y += int(size * 1.15)
        x -= int(size * 1.3)


def manga_page() -> Image.Image:
    page = Image.new("RGB", (820, 1160), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, 800, 1140), outline="black", width=4)  # a panel border: art that must survive
    draw_balloon(draw, (460, 80, 760, 500), ["こんにちは", "元気ですか"])
    draw_balloon(draw, (100, 600, 360, 1000), ["ありがとう"])
    return page


def ink_inside(image: np.ndarray, box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    return int((image[y0:y1, x0:x1].min(axis=2) < 100).sum())


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_cleaning_mode_erases_the_balloons_and_exports_the_script(pipeline):
    page = manga_page()
    outcome = pipeline.run(png(page), translator=get_translator("none"), source_language="ja", target_language="en")
    report = outcome.report

    assert report.mode == "cleaning"
    assert [region.source_text for region in report.regions] == ["こんにちは元気ですか", "ありがとう"]
    assert all(region.translation is None and region.flags == [] for region in report.regions)
    assert report.script == "1\tこんにちは元気ですか\n2\tありがとう"
    result = decode(outcome.image)
    assert ink_inside(result, (520, 160, 700, 420)) == 0  # the glyphs are gone
    assert ink_inside(result, (150, 680, 310, 920)) == 0
    assert (result[20:24, 20:800] < 100).all()  # the panel border is untouched
    assert outcome.changed
    assert set(report.timings_ms) >= {"load", "detect", "ocr", "group", "translate", "inpaint", "encode"}
    assert "letter" not in report.timings_ms


def test_a_translation_is_lettered_inside_each_balloon(pipeline):
    translator = get_translator("test", text="Hi {id}!")
    outcome = pipeline.run(png(manga_page()), translator=translator, source_language="ja", target_language="en")
    report = outcome.report

    assert report.mode == "translate"
    assert [region.translation for region in report.regions] == ["Hi 1!", "Hi 2!"]
    assert all(region.font_size and region.font_size >= 10 for region in report.regions)
    result = decode(outcome.image)
    assert ink_inside(result, (470, 90, 750, 490)) > 50  # new lettering in the first balloon
    assert ink_inside(result, (110, 610, 350, 990)) > 50
    assert ink_inside(result, (40, 40, 440, 560)) == 0  # and nothing where there was no balloon


class EchoTranslator:
    """Returns the source text: a translator failure that must never reach the page as a 'translation'."""

    name = "echo"
    letters = True

    def translate(self, request: TranslationRequest) -> TranslationResult:
        return TranslationResult(texts={block.id: block.source_text for block in request.blocks})


def test_an_echoed_source_text_is_flagged_untranslated_and_left_in_place(pipeline):
    data = png(manga_page())
    outcome = pipeline.run(data, translator=EchoTranslator(), source_language="ja", target_language="en")

    assert all(region.translation is None for region in outcome.report.regions)
    assert all(region.flags == ["untranslated"] for region in outcome.report.regions)
    assert not outcome.changed
    assert ink_inside(decode(outcome.image), (520, 160, 700, 420)) > 100  # the original text is still there


class BrokenTranslator:
    name = "broken"
    letters = True

    def translate(self, request: TranslationRequest) -> TranslationResult:
        raise ValueError("the service answered nonsense")


def test_a_failing_stage_is_named_in_the_error(pipeline):
    with pytest.raises(PipelineError, match="ValueError: the service answered nonsense") as raised:
        pipeline.run(png(manga_page()), translator=BrokenTranslator(), source_language="ja", target_language="en")
    assert raised.value.stage == "translate"


def test_a_tiny_page_has_no_regions_and_is_returned_unchanged(pipeline):
    outcome = pipeline.run(
        png(Image.new("RGB", (1, 1), "white")),
        translator=get_translator("none"),
        source_language="ja",
        target_language="en",
    )
    assert outcome.report.regions == []
    assert not outcome.changed


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [("xx", "en", "unknown source language 'xx'"), ("ja", "tlh", "unknown target language 'tlh'")],
)
def test_unknown_languages_are_refused(pipeline, source, target, message):
    with pytest.raises(PipelineError, match=message):
        pipeline.run(b"", translator=get_translator("none"), source_language=source, target_language=target)


def test_unknown_translators_are_refused():
    with pytest.raises(PipelineError, match="unknown translator 'babelfish'"):
        get_translator("babelfish")


def test_a_webtoon_strip_is_read_slice_by_slice(pipeline):
    strip = Image.new("RGB", (720, 6000), "white")
    draw = ImageDraw.Draw(strip)
    tops = [200, 1500, 2900, 4300, 5400]
    for top in tops:
        draw_balloon(draw, (200, top, 520, top + 420), ["こんにちは"])

    outcome = pipeline.run(png(strip), translator=get_translator("none"), source_language="ja", target_language="en")

    regions = outcome.report.regions
    assert [region.source_text for region in regions] == ["こんにちは"] * len(tops)
    assert sorted(region.box[1] for region in regions) == [r.box[1] for r in regions]  # top to bottom


def test_each_stage_is_announced_as_it_starts(pipeline):
    started: list[str] = []
    outcome = pipeline.run(
        png(manga_page()),
        translator=get_translator("test"),
        source_language="ja",
        target_language="en",
        on_stage=started.append,
    )
    assert started == ["load", "detect", "ocr", "group", "translate", "inpaint", "letter", "encode"]
    assert list(outcome.report.timings_ms) == started
