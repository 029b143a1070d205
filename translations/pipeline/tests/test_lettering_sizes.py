"""Readable and even sizes: a floor relative to the page, the balloon's room used before shrinking, one size for
similar balloons on a page."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box, TextBlock, TextLine
from translations.pipeline.fonts import find_font
from translations.pipeline.lettering import BalloonLetterer, Typesetter, _text_shape, floor_size

PAGE = (1170, 830)  # an ordinary manga page: the floor is 14 px


def ellipse(w: int, h: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - 2, h // 2 - 2), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def balloon_block(id: int, x: int, y: int, w: int, h: int, glyph: int = 20) -> TextBlock:
    """A balloon with one source column of `glyph`-wide Japanese in it."""
    balloon = Balloon(Box(x, y, w, h), ellipse(w, h))
    cx = x + w // 2 - glyph // 2
    line = TextLine(Box(cx, y + 10, glyph, h - 20), ((cx, y + 10), (cx + glyph, y + 10)), True, "あいう")
    return TextBlock(id, line.box, (line,), True, balloon)


def letter(blocks: tuple[TextBlock, ...], texts: dict[int, str]):
    page = np.full((*PAGE, 3), 255, np.uint8)
    return BalloonLetterer().letter(page, blocks, texts, "en")[1]


def test_the_floor_is_a_share_of_the_page_width():
    assert floor_size(830) == 14
    assert floor_size(1660) == 28
    assert floor_size(300) == 10  # small pages keep the absolute floor


def test_text_that_cannot_fit_keeps_the_floor_and_is_flagged_overflow():
    text = " ".join(["Far too many words for such a tiny balloon."] * 4)
    (region,) = letter((balloon_block(1, 100, 100, 80, 60),), {1: text})
    assert region.overflow
    assert region.font_size == 14  # never the unreadable size it would take to fit


def test_the_balloons_room_is_used_before_the_text_shrinks_below_the_floor():
    block = balloon_block(1, 100, 100, 110, 90)
    text = "I know this might appear to be impossible"
    _, default_shape = _text_shape(block, PAGE, False)
    # With the usual margin off the outline the text would not fit at the floor ...
    assert Typesetter(find_font("en"), default_shape, text, "en", False, 0, False).best(14, 30)[2]
    # ... with the room nearer the outline it does, so it is lettered at (or above) the floor, not flagged.
    (region,) = letter((block,), {1: text})
    assert not region.overflow and region.font_size >= 14


def test_similar_balloons_on_a_page_get_the_same_size():
    blocks = tuple(balloon_block(i, 100 + 200 * (i - 1), 100, 150, 130, glyph=30) for i in (1, 2, 3, 4))
    texts = {1: "Hi!", 2: "Hello there.", 3: "Where are you going?", 4: "Wait for me!"}
    regions = letter(blocks, texts)
    sizes = [region.font_size for region in regions]
    # Each alone fits at 36, 36, 28 and 32 px: a page set like that looks like a ransom note.
    assert max(sizes) == min(sizes) >= 26, sizes
    assert not any(region.overflow or region.collision for region in regions)


def test_a_region_squeezed_below_the_pages_usual_size_is_not_dragged_up_past_its_fit():
    blocks = (
        *(balloon_block(i, 100 + 200 * (i - 1), 100, 150, 130, glyph=30) for i in (1, 2, 3)),
        balloon_block(4, 100, 400, 80, 60, glyph=30),
    )
    texts = {1: "Hello there.", 2: "Where to?", 3: "Wait for me!", 4: "Where to now?"}
    regions = {region.block_id: region for region in letter(blocks, texts)}
    assert 14 <= regions[4].font_size < regions[1].font_size
    assert not regions[4].overflow


def test_loud_source_text_keeps_its_larger_size():
    quiet = tuple(balloon_block(i, 100 + 200 * (i - 1), 100, 150, 130, glyph=18) for i in (1, 2, 3))
    loud = balloon_block(4, 100, 400, 220, 200, glyph=40)  # shouting: glyphs twice the page's usual
    texts = {1: "Hello there.", 2: "Where to?", 3: "Wait for me!", 4: "STOP!"}
    regions = {region.block_id: region for region in letter((*quiet, loud), texts)}
    assert regions[4].font_size > 1.3 * regions[1].font_size
