"""Each block letters in its own part of a balloon: joined balloons, two blocks in one balloon, panel-sized masks."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.balloon_parts import is_balloon, split_balloon
from translations.pipeline.contracts import Balloon, Box, TextLine
from translations.pipeline.grouping import group_lines
from translations.pipeline.lettering import BalloonLetterer


def column(x: int, y: int, w: int = 20, h: int = 80, text: str = "あいう") -> TextLine:
    polygon = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
    return TextLine(Box(x, y, w, h), polygon, True, text, 0.95)


def joined_balloons() -> tuple[Balloon, list[TextLine], list[TextLine]]:
    """Two ellipses touching through a narrow neck, as the segmenter returns them: one mask."""
    box = Box(100, 100, 400, 200)
    mask = np.zeros((box.h, box.w), np.uint8)
    cv2.ellipse(mask, (100, 100), (95, 90), 0, 0, 360, 1, -1)
    cv2.ellipse(mask, (300, 100), (95, 90), 0, 0, 360, 1, -1)
    # Only a 30 px neck joins them: cut the rest of the overlap away.
    mask[:85, 190:210] = 0
    mask[115:, 190:210] = 0
    left = [column(box.x + 90, box.y + 60), column(box.x + 60, box.y + 60)]
    right = [column(box.x + 300, box.y + 60)]
    return Balloon(box, mask.astype(bool)), left, right


def part_holds(part: Balloon, line: TextLine) -> bool:
    cx, cy = line.box.x + line.box.w // 2 - part.box.x, line.box.y + line.box.h // 2 - part.box.y
    return 0 <= cy < part.box.h and 0 <= cx < part.box.w and bool(part.mask[cy, cx])


def page_mask(part: Balloon, shape: tuple[int, int]) -> np.ndarray:
    full = np.zeros(shape, bool)
    full[part.box.y : part.box.bottom, part.box.x : part.box.right] = part.mask
    return full


def test_joined_balloons_are_split_at_their_neck():
    balloon, left, right = joined_balloons()
    first, second = split_balloon(balloon, [left, right])
    assert all(part_holds(first, line) for line in left) and not any(part_holds(first, line) for line in right)
    assert all(part_holds(second, line) for line in right) and not any(part_holds(second, line) for line in left)
    a, b = page_mask(first, (400, 600)), page_mask(second, (400, 600))
    assert not (a & b).any()
    # The cut runs through the neck: each part is (nearly) its own ellipse.
    assert a[:, 100 + 215 :].sum() == 0 and b[:, : 100 + 185].sum() == 0
    assert a.sum() > 0.4 * balloon.mask.sum() and b.sum() > 0.4 * balloon.mask.sum()


def test_one_balloon_with_two_blocks_is_shared_between_them():
    box = Box(50, 50, 300, 220)
    mask = np.zeros((box.h, box.w), np.uint8)
    cv2.ellipse(mask, (150, 110), (145, 105), 0, 0, 360, 1, -1)
    balloon = Balloon(box, mask.astype(bool))
    top = [column(box.x + 200, box.y + 30, h=60)]
    bottom = [column(box.x + 80, box.y + 120, h=60)]
    first, second = split_balloon(balloon, [top, bottom])
    a, b = page_mask(first, (400, 400)), page_mask(second, (400, 400))
    assert part_holds(first, top[0]) and part_holds(second, bottom[0])
    assert not (a & b).any()
    assert (a | b).sum() >= 0.97 * balloon.mask.sum()  # only the cut itself is lost
    assert not (a & ~page_mask(balloon, (400, 400))).any()  # the parts never leave the balloon


def test_a_single_block_keeps_the_whole_balloon():
    balloon, left, _ = joined_balloons()
    assert split_balloon(balloon, [left]) == [balloon]


def test_a_panel_sized_mask_is_not_a_balloon():
    page = np.full((1000, 800, 3), 255, np.uint8)
    panel = Balloon(Box(0, 0, 800, 500), np.ones((500, 800), bool))
    small = Balloon(Box(100, 100, 150, 200), np.ones((200, 150), bool))
    assert not is_balloon(panel, page.shape)
    assert is_balloon(small, page.shape)
    blocks = group_lines([column(400, 200), column(370, 200)], [panel], image=page)
    assert len(blocks) == 1 and blocks[0].balloon is None  # text over the panel, lettered as over art


def test_grouping_gives_each_block_of_a_joined_balloon_its_own_part_and_they_never_collide():
    balloon, left, right = joined_balloons()
    page = np.full((1000, 900, 3), 255, np.uint8)
    blocks = group_lines(left + right, [balloon], image=page)
    assert len(blocks) == 2
    assert blocks[0].balloon is not blocks[1].balloon
    texts = {block.id: "Some English long enough to fill a balloon half, or more." for block in blocks}
    _, regions = BalloonLetterer().letter(page, blocks, texts, "en")
    assert len(regions) == 2 and not any(region.collision for region in regions)
    a, b = (region.letter_box for region in regions)
    assert a is not None and b is not None and a.intersection(b) == 0
