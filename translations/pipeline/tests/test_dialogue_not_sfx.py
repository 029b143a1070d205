"""Dialogue is not SFX: text in a balloon never is, nor is text on plain paper; unreadable text over art is left."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box, Flag, TextLine
from translations.pipeline.engine import unreadable
from translations.pipeline.grouping import group_lines


def column(x: int, y: int, w: int, h: int, text: str, confidence: float = 0.95) -> TextLine:
    return TextLine(Box(x, y, w, h), ((x, y), (x + w, y), (x + w, y + h), (x, y + h)), True, text, confidence)


def page_with_tone() -> np.ndarray:
    """White paper above, screentone art in the lower half."""
    page = np.full((1200, 800, 3), 255, np.uint8)
    page[600:, :] = 255
    page[600::4, ::4] = 60
    return page


# Ordinary dialogue lettering, so the page's usual size is about 20 px.
DIALOGUE = [column(700, 50, 20, 120, "なあ、宏也"), column(670, 50, 20, 120, "どうした")]


def test_large_shouted_text_in_a_balloon_is_dialogue_not_sfx():
    page = page_with_tone()
    balloon = Balloon(Box(60, 620, 200, 260), np.ones((260, 200), bool))
    shout = [column(150, 650, 48, 190, "焼いたーー!?"), column(95, 650, 48, 120, "傷口を")]
    blocks = group_lines([*DIALOGUE, *shout], [balloon], image=page)
    held = [b for b in blocks if b.balloon is not None]
    assert len(held) == 1 and Flag.SFX not in held[0].flags


def test_large_text_in_a_balloon_the_segmenter_missed_is_not_sfx():
    page = page_with_tone()
    cv2.ellipse(page, (324, 175), (90, 130), 0, 0, 360, (0, 0, 0), 3)  # the balloon's outline, no mask for it
    shout = [column(300, 100, 48, 150, "焼いた!?")]  # the segmenter missed its balloon: white all around
    (block,) = [b for b in group_lines([*DIALOGUE, *shout], [], image=page) if b.lines[0].text == "焼いた!?"]
    assert Flag.SFX not in block.flags


def test_large_text_on_a_blank_panel_is_still_sfx():
    page = page_with_tone()
    sfx = [column(300, 100, 60, 150, "ドン")]  # white all around, but the white is the whole panel
    (block,) = [b for b in group_lines([*DIALOGUE, *sfx], [], image=page) if b.lines[0].text == "ドン"]
    assert Flag.SFX in block.flags


def test_large_text_over_the_art_is_sfx():
    page = page_with_tone()
    sfx = [column(300, 800, 60, 150, "ドン")]
    (block,) = [b for b in group_lines([*DIALOGUE, *sfx], [], image=page) if b.lines[0].text == "ドン"]
    assert Flag.SFX in block.flags


def test_unreadable_text_outside_balloons_is_left_alone_but_in_a_balloon_it_is_handled():
    page = page_with_tone()
    scribble = [column(300, 800, 22, 100, "ミ三ノ", confidence=0.3)]
    balloon = Balloon(Box(640, 30, 120, 160), np.ones((160, 120), bool))
    blocks = group_lines([*DIALOGUE, *scribble], [balloon], image=page)
    free = next(b for b in blocks if b.balloon is None)
    assert Flag.LOW_CONFIDENCE in free.flags and unreadable(free)
    dialogue = next(b for b in blocks if b.balloon is not None)
    assert not unreadable(dialogue)
    low_in_balloon = group_lines([column(700, 50, 20, 120, "なあ", confidence=0.3)], [balloon], image=page)
    assert Flag.LOW_CONFIDENCE in low_in_balloon[0].flags and not unreadable(low_in_balloon[0])
