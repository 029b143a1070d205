"""After layout every pair of lettered regions is checked: an overlap that remains is flagged, never silent."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box, TextBlock, TextLine
from translations.pipeline.lettering import BalloonLetterer, collisions


def test_overlapping_ink_boxes_collide_and_touching_ones_do_not():
    a = [Box(0, 0, 10, 10), Box(0, 12, 10, 10)]
    b = [Box(10, 0, 10, 10)]  # touches a's right edge
    c = [Box(5, 15, 10, 10)]  # overlaps a's second line
    assert collisions([a, b]) == set()
    assert collisions([a, b, c]) == {0, 2}


def test_two_blocks_lettered_on_one_shared_mask_are_reported_as_colliding():
    page = np.full((400, 400, 3), 255, np.uint8)
    mask = np.zeros((200, 200), np.uint8)
    cv2.ellipse(mask, (100, 100), (95, 95), 0, 0, 360, 1, -1)
    shared = Balloon(Box(100, 100, 200, 200), mask.astype(bool))
    line = TextLine(Box(180, 150, 20, 100), ((180, 150), (200, 150), (200, 250), (180, 250)), True, "あ")
    blocks = tuple(TextBlock(i, line.box, (line,), True, shared) for i in (1, 2))
    texts = {1: "The first block's words.", 2: "The second block's words."}
    _, regions = BalloonLetterer().letter(page, blocks, texts, "en")
    assert [region.collision for region in regions] == [True, True]
    assert all(region.letter_box is not None for region in regions)
