"""Clean erasure, or none: no grey ghost around erased glyphs; a fill that smears detailed art becomes a plate;
the textured fill works on a bounded crop."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from translations.pipeline import inpainting
from translations.pipeline.contracts import Balloon, Box, TextBlock, TextLine
from translations.pipeline.fonts import CJK_FONT_SUBSET, REPO_FONT_DIR
from translations.pipeline.inpainting import BlockEraser, PatchMatchInpainter, TeleaInpainter, smeared

FONT = REPO_FONT_DIR / CJK_FONT_SUBSET


def drawn_text(image: Image.Image, x: int, y: int, text: str, size: int) -> TextLine:
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), size)
    draw.text((x, y), text, font=font, fill=0)
    left, top, right, bottom = draw.textbbox((x, y), text, font=font)
    box = Box(left, top, right - left, bottom - top)  # type: ignore[arg-type]
    return TextLine(box, ((left, top), (right, top), (right, bottom), (left, bottom)), False, text, 0.9)  # type: ignore[arg-type]


def test_the_anti_aliased_rim_of_erased_glyphs_leaves_no_grey_ghost():
    page = Image.new("RGB", (400, 300), (250, 250, 250))
    ImageDraw.Draw(page).ellipse((40, 40, 360, 260), outline=(0, 0, 0), width=3, fill=(250, 250, 250))
    line = drawn_text(page, 110, 130, "こんにちは", 34)
    # A soft scan: blur spreads each stroke into a grey rim, then JPEG-like noise.
    image = cv2.GaussianBlur(np.asarray(page), (5, 5), 1.4)
    mask = np.zeros((220, 320), np.uint8)
    cv2.ellipse(mask, (160, 110), (155, 105), 0, 0, 360, 1, -1)
    block = TextBlock(1, line.box, (line,), False, Balloon(Box(40, 40, 320, 220), mask.astype(bool)))
    out, filled = BlockEraser().erase(image, (block,))
    around = cv2.dilate(filled.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    inner = np.zeros_like(around)
    inner[70:230, 70:330] = True
    assert np.abs(out[around & inner].astype(int) - 250).max() <= 12  # no grey left next to the glyphs
    outline = np.zeros((300, 400), np.uint8)
    cv2.ellipse(outline, (200, 150), (160, 110), 0, 0, 360, 1, 5)
    assert (out[outline.astype(bool)] == image[outline.astype(bool)]).all()  # the outline is intact


def detailed_art(h: int, w: int) -> np.ndarray:
    """Hatching in every direction at every scale: nothing a fill can continue from the ring."""
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (h // 4, w // 4), dtype=np.uint8)
    art = cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.repeat(art[..., None], 3, axis=2)


def test_a_fill_that_smears_detailed_art_is_replaced_by_a_plate_and_flagged():
    image = detailed_art(400, 900)
    pil = Image.fromarray(image)
    line = drawn_text(pil, 60, 120, "タイトル文字", 120)
    image = np.asarray(pil).copy()
    block = TextBlock(1, line.box, (line,), False, None)
    erasure = BlockEraser(TeleaInpainter()).erase_page(image, (block,))
    assert erasure.plated == {1}
    b = line.box
    plate = erasure.image[b.y + 5 : b.bottom - 5, b.x + 5 : b.right - 5]
    assert np.ptp(plate) == 0  # one plain colour, not a grey smear
    assert (erasure.image[~erasure.mask] == image[~erasure.mask]).all()


def test_a_fill_that_continues_the_texture_is_kept(monkeypatch):
    verdicts = []

    def judged(original, filled, hole):
        verdicts.append(smeared(original, filled, hole))
        return verdicts[-1]

    monkeypatch.setattr(inpainting, "smeared", judged)
    tone = np.full((400, 600, 3), 255, np.uint8)
    tone[::4] = 150  # hatching: regular texture a patch-based fill continues
    tone[1::4] = 150
    pil = Image.fromarray(tone)
    line = drawn_text(pil, 120, 150, "文字です", 60)
    image = np.asarray(pil).copy()
    erasure = BlockEraser(PatchMatchInpainter()).erase_page(image, (TextBlock(1, line.box, (line,), False, None),))
    assert erasure.plated == frozenset()
    assert verdicts == [False]  # judged, and kept
    b = line.box
    rows = erasure.image[b.y : b.bottom, b.x + 10 : b.right - 10, 0].mean(axis=1)
    assert np.ptp(rows) > 60  # the stripes go on through the hole


class SizeRecordingInpainter:
    """Telea, remembering the largest image it was given."""

    name = "telea-recording"

    def __init__(self) -> None:
        self.largest = 0
        self.telea = TeleaInpainter()

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.largest = max(self.largest, image.shape[0] * image.shape[1])
        return self.telea.inpaint(image, mask)


def test_the_textured_fill_of_a_huge_region_runs_on_a_bounded_crop():
    image = np.full((1200, 1600, 3), 128, np.uint8)
    image[::3] = 90  # stripes: not flat, so the textured fill runs
    pil = Image.fromarray(image)
    line = drawn_text(pil, 100, 300, "大きな文字", 260)
    image = np.asarray(pil).copy()
    recorder = SizeRecordingInpainter()
    BlockEraser(recorder, max_fill_pixels=200_000).erase_page(image, (TextBlock(1, line.box, (line,), False, None),))
    assert 0 < recorder.largest <= 200_000 * 1.02
