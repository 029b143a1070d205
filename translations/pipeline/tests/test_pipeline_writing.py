"""The writing half of the pipeline on drawn pages: erase mask, inpainting and lettering."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, features

from translations.pipeline.contracts import Balloon, Box, Flag, TextBlock, TextLine
from translations.pipeline.fonts import CJK_FONT_SUBSET, LATIN_FONT, REPO_FONT_DIR, FontMissing, find_font
from translations.pipeline.inpainting import BlockEraser, PatchMatchInpainter, TeleaInpainter
from translations.pipeline.lettering import BalloonLetterer, TextShape, Typesetter
from translations.pipeline.masks import build_erase_mask
from translations.pipeline.tests.paths import EVALSET

CJK_FONT = REPO_FONT_DIR / CJK_FONT_SUBSET
WIKIPE_TAN = EVALSET / "dev" / "wikipe-tan_p1_ja.jpg"
WIDTH, HEIGHT = 600, 800
TONE = 90  # grey of the screentone dots; the drawn text is black


def ellipse(w: int, h: int, inset: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - inset, h // 2 - inset), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def write(draw: ImageDraw.ImageDraw, texts: list[str], x: int, y: int, size: int, vertical: bool) -> list[TextLine]:
    """Draw lines (columns right to left when vertical) and return them as the detector would."""
    font = ImageFont.truetype(str(CJK_FONT), size)
    lines = []
    for i, text in enumerate(texts):
        origin = (x - i * round(1.5 * size), y) if vertical else (x, y + i * round(1.4 * size))
        direction = "ttb" if vertical else None
        draw.text(origin, text, font=font, fill=0, direction=direction)
        left, top, right, bottom = draw.textbbox(origin, text, font=font, direction=direction)
        polygon = ((left, top), (right, top), (right, bottom), (left, bottom))
        lines.append(TextLine(Box(left, top, right - left, bottom - top), polygon, vertical, text))  # type: ignore[arg-type]
    return lines


def block(id: int, lines: list[TextLine], balloon: Balloon | None = None, flags=frozenset()) -> TextBlock:
    box = Box.around([p for line in lines for p in line.polygon])
    return TextBlock(id, box, tuple(lines), lines[0].vertical, balloon, flags)


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, tuple[TextBlock, ...], dict[str, Box]]:
    """A white page: an outlined balloon with vertical text and art lines beside it, text over
    screentone, a horizontal balloon with a furigana-like mark the detector missed, and an SFX."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    art = Box(545, 80, 40, 160)
    for k in range(6):
        draw.line((art.x + 6 * k, art.y, art.x + 6 * k, art.bottom), fill=0, width=2)
    b1 = Box(340, 40, 200, 240)
    draw.ellipse((b1.x + 4, b1.y + 4, b1.right - 5, b1.bottom - 5), outline=0, width=3)
    balloon1 = Balloon(b1, ellipse(b1.w, b1.h, 7))
    lines1 = write(draw, ["こんにちは", "世界です。", "テスト！"], b1.x + 125, b1.y + 60, 22, True)
    b2 = Box(40, 60, 260, 160)
    draw.ellipse((b2.x + 4, b2.y + 4, b2.right - 5, b2.bottom - 5), outline=0, width=3)
    lines2 = write(draw, ["これは横書き", "のテキスト"], b2.x + 60, b2.y + 50, 22, False)
    draw.text((b2.x + 70, b2.y + 36), "よこがき", font=ImageFont.truetype(str(CJK_FONT), 10), fill=0)
    tone = Box(40, 360, 300, 200)
    pixels = np.asarray(image).copy()
    for y in range(tone.y, tone.bottom, 5):
        for x in range(tone.x + (y // 5 % 2) * 2, tone.right, 5):
            pixels[y : y + 2, x : x + 2] = TONE
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    lines3 = write(draw, ["背景の上の文字"], tone.x + 60, tone.y + 80, 22, False)
    lines4 = write(draw, ["ドン"], 400, 420, 60, False)
    blocks = (
        block(1, lines1, balloon1),
        block(2, lines2, Balloon(b2, ellipse(b2.w, b2.h, 7))),
        block(3, lines3),
        block(4, lines4, flags=frozenset({Flag.SFX})),
    )
    return np.asarray(image).copy(), blocks, {"art": art, "tone": tone}


@pytest.fixture(scope="module")
def erased(page) -> tuple[np.ndarray, np.ndarray]:
    image, blocks, _ = page
    return BlockEraser().erase(image, blocks)


def interior(balloon: Balloon, inset: int = 3) -> tuple[slice, slice, np.ndarray]:
    """The balloon's rows, columns and its mask shrunk clear of the outline."""
    b = balloon.box
    kernel = np.ones((2 * inset + 1, 2 * inset + 1), np.uint8)
    return slice(b.y, b.bottom), slice(b.x, b.right), cv2.erode(balloon.mask.astype(np.uint8), kernel).astype(bool)


def test_no_dark_glyph_pixel_is_left_inside_the_balloons(page, erased):
    _, blocks, _ = page
    out, _ = erased
    for b in blocks[:2]:
        rows, cols, inside = interior(b.balloon)
        assert out[rows, cols][inside].min() > 200


def test_the_mask_covers_the_glyphs_not_the_boxes(page, erased):
    _, blocks, _ = page
    _, mask = erased
    box = blocks[0].box
    covered = mask[box.y : box.bottom, box.x : box.right].mean()
    assert 0.15 < covered < 0.9


def test_pixels_outside_the_mask_are_unchanged_and_the_art_survives(page, erased):
    image, _, boxes = page
    out, mask = erased
    assert (out[~mask] == image[~mask]).all()
    art = boxes["art"]
    assert not mask[art.y : art.bottom, art.x : art.right].any()


def test_an_sfx_block_is_never_masked_nor_touched(page, erased):
    image, blocks, _ = page
    out, mask = erased
    box = blocks[3].box
    assert not mask[box.y : box.bottom, box.x : box.right].any()
    assert (out[box.y : box.bottom, box.x : box.right] == image[box.y : box.bottom, box.x : box.right]).all()
    assert not build_erase_mask(image, blocks[3:])[box.y : box.bottom, box.x : box.right].any()


def test_a_mark_the_detector_missed_inside_a_balloon_is_erased_too(page, erased):
    _, blocks, _ = page
    out, _ = erased
    b = blocks[1].balloon.box
    # The small reading aid above the first line was in no detected line.
    assert out[b.y + 30 : b.y + 50, b.x + 65 : b.x + 120].min() > 200


@pytest.mark.parametrize("inpainter", [PatchMatchInpainter, TeleaInpainter])
def test_text_over_screentone_is_erased_and_the_tone_goes_on(page, inpainter):
    image, blocks, boxes = page
    out, mask = BlockEraser(inpainter()).erase(image, blocks)
    assert (out[~mask] == image[~mask]).all()
    box = blocks[2].box
    region = out[box.y : box.bottom, box.x : box.right]
    assert region.min() > 40  # the black strokes are gone
    if inpainter is PatchMatchInpainter:
        # PatchMatch copies the dots: the patch keeps about the tone's share of dark pixels.
        tone = boxes["tone"]
        share = (image[tone.y : tone.y + 40, tone.x : tone.right] < 200).mean()
        assert abs((region < 200).mean() - share) < 0.12


def test_a_real_scanned_balloon_is_cleaned_without_touching_its_outline():
    if not WIKIPE_TAN.exists():
        pytest.skip("the shared evaluation set is not here")
    image = np.asarray(Image.open(WIKIPE_TAN).convert("RGB")).copy()
    gray = image[..., 0]
    # The balloon of "―あれ？": the paper reached from a point inside it, holes (the text) filled.
    flood = np.zeros((gray.shape[0] + 2, gray.shape[1] + 2), np.uint8)
    cv2.floodFill((gray > 200).astype(np.uint8), flood, (255, 500), 2)
    contours, _ = cv2.findContours(flood[1:-1, 1:-1], cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(gray)
    cv2.drawContours(filled, contours, -1, 1, -1)
    box = Box.around(np.argwhere(filled)[:, ::-1])
    box = Box(box.x, box.y, box.w + 1, box.h + 1)
    balloon = Balloon(box, filled[box.y : box.bottom, box.x : box.right].astype(bool))
    ink = Box.around(np.argwhere(filled.astype(bool) & (gray < 128))[:, ::-1])
    polygon = ((ink.x, ink.y), (ink.right, ink.y), (ink.right, ink.bottom), (ink.x, ink.bottom))
    line = TextLine(ink, polygon, True, "―あれ？")
    out, mask = BlockEraser().erase(image, (TextBlock(1, ink, (line,), True, balloon),))
    assert mask.sum() < filled.sum()  # the glyphs, not the whole balloon
    rows, cols, inside = interior(balloon)
    assert out[rows, cols][inside].min() > 180
    outline = cv2.dilate(filled, np.ones((9, 9), np.uint8)).astype(bool) & ~filled.astype(bool)
    assert (out[outline] == image[outline]).all()


def lettered_page(text: str, language: str, balloon_box: Box, *, raqm: bool | None = None, vertical: bool = False):
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    balloon = Balloon(balloon_box, ellipse(balloon_box.w, balloon_box.h, 4))
    line_box = Box(balloon_box.x + balloon_box.w // 3, balloon_box.y + balloon_box.h // 4, 24, balloon_box.h // 2)
    if not vertical:
        line_box = Box(balloon_box.x + balloon_box.w // 4, balloon_box.y + balloon_box.h // 3, balloon_box.w // 2, 24)
    polygon = ((line_box.x, line_box.y), (line_box.right, line_box.y), (line_box.right, line_box.bottom))
    blk = TextBlock(1, line_box, (TextLine(line_box, polygon, vertical),), vertical, balloon)
    out, regions = BalloonLetterer(raqm=raqm).letter(image, (blk,), {1: text}, language)
    return out, regions[0], balloon


def ink_of(out: np.ndarray) -> np.ndarray:
    return out.min(axis=2) < 128


def test_lettering_stays_inside_the_balloon_shape_at_a_readable_size():
    out, region, balloon = lettered_page("Hello there! This is a test of the lettering.", "en", Box(100, 100, 200, 150))
    ink = ink_of(out)
    b = balloon.box
    inside = np.zeros_like(ink)
    inside[b.y : b.bottom, b.x : b.right] = balloon.mask
    assert ink.sum() > 300
    assert not (ink & ~inside).any()
    assert region.font_size >= max(10, round(0.011 * WIDTH))
    assert not region.overflow


def test_a_text_too_long_is_lettered_at_the_minimum_size_and_flagged():
    text = " ".join(["Far too many words for such a tiny balloon."] * 6)
    out, region, _ = lettered_page(text, "en", Box(100, 100, 80, 60))
    assert region.overflow
    assert region.font_size == max(10, round(0.011 * WIDTH))
    assert ink_of(out).sum() > 1000  # every word drawn, none clipped away


@pytest.mark.parametrize("raqm", [True, False])
def test_japanese_is_set_in_columns(raqm):
    if raqm and not features.check("raqm"):
        pytest.skip("Pillow without raqm")
    text = "こんにちは、これは縦書きのテストです。「いいね」"
    out, region, _ = lettered_page(text, "ja", Box(100, 100, 160, 260), raqm=raqm, vertical=True)
    ys, xs = np.nonzero(ink_of(out))
    assert np.ptp(ys) > 1.3 * np.ptp(xs)
    assert np.ptp(xs) > 2 * region.font_size  # more than one column
    assert not region.overflow


def test_columns_never_start_with_closing_punctuation():
    shape = TextShape(ellipse(120, 200, 4))
    setter = Typesetter(find_font("ja"), shape, "あいうえおかきくけこ。さしすせそ、たちつてと", "ja", True, 0, False)
    size, placed, overflow = setter.best(10, 40)
    assert size > 10 and not overflow
    assert len(placed) > 1
    assert all(p.text[0] not in "。、" for p in placed)


def test_a_long_word_in_a_narrow_balloon_is_hyphenated():
    shape = TextShape(ellipse(70, 200, 2))
    setter = Typesetter(find_font("en"), shape, "Incomprehensibly complicated!", "en", False, 0, False)
    size, placed, overflow = setter.best(10, 30)
    assert size >= 10 and not overflow
    assert any(p.text.endswith("-") for p in placed)


def test_text_over_art_gets_a_white_outline():
    image = np.full((HEIGHT, WIDTH, 3), 120, np.uint8)
    line = TextLine(Box(100, 100, 200, 40), ((100, 100), (300, 100), (300, 140), (100, 140)), False)
    blk = TextBlock(1, line.box, (line,), False, None)
    out, (region,) = BalloonLetterer().letter(image, (blk,), {1: "Over the art"}, "en")
    dark = out.max(axis=2) < 40
    white = out.min(axis=2) > 230
    assert dark.sum() > 50 and white.sum() > 50
    near_dark = cv2.dilate(dark.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (white & near_dark).sum() > 0.5 * white.sum()
    assert not region.overflow


def test_fonts_come_from_the_repository_and_cover_the_text():
    assert find_font("en").path == REPO_FONT_DIR / LATIN_FONT
    assert find_font("ja").path.name in (CJK_FONT_SUBSET, "NotoSansCJK-Regular.ttc")
    # Comic Neue has no Cyrillic: the CJK font, which does, takes over.
    assert find_font("ru", "Привет").path.name != LATIN_FONT


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    import translations.pipeline.fonts as fonts

    monkeypatch.setattr(fonts, "REPO_FONT_DIR", tmp_path)
    monkeypatch.setattr(fonts, "SYSTEM_FONT_DIRS", ())
    monkeypatch.delenv(fonts.FONT_DIR_ENV, raising=False)
    with pytest.raises(FontMissing, match="MANGA_FONT_DIR"):
        find_font("ja")
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(REPO_FONT_DIR))
    assert find_font("ja").path.parent == REPO_FONT_DIR
