"""Tall strips are detected slice by slice; every element comes back once, whole, in page coordinates."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from translations.pipeline.contracts import Box, Detection, TextLine
from translations.pipeline.slicing import OVERLAP_WIDTHS, SLICE_WIDTHS, SlicedDetector, slice_bounds


class InkDetector:
    """Finds each dark rectangle as one line: exact, so the test sees only what slicing does."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> Detection:
        self.calls.append(image.shape[:2])
        ink = (image[:, :, 0] < 128).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
        lines = []
        for x, y, w, h, _ in stats[1:count]:
            box = Box(int(x), int(y), int(w), int(h))
            corners = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
            lines.append(TextLine(box=box, polygon=corners, vertical=h > w))
        return Detection(balloons=(), lines=tuple(lines))


def test_slices_overlap_and_cover_the_whole_strip():
    bounds = slice_bounds(14000, 720)
    assert bounds[0][0] == 0 and bounds[-1][1] == 14000
    for (_, bottom), (next_top, _) in itertools.pairwise(bounds):
        assert bottom - next_top >= OVERLAP_WIDTHS * 720


def test_an_ordinary_page_is_detected_in_one_piece():
    inner = InkDetector()
    SlicedDetector(inner).detect(np.full((1170, 830, 3), 255, np.uint8))
    assert inner.calls == [(1170, 830)]


def test_every_element_of_a_strip_is_found_once_and_whole():
    width, height = 300, 4000
    strip = np.full((height, width, 3), 255, np.uint8)
    rng = np.random.default_rng(3)
    expected = []
    for top in range(40, height - 200, 170):
        box = Box(int(rng.integers(10, 200)), top + int(rng.integers(0, 30)), 60, int(rng.integers(40, 150)))
        strip[box.y : box.bottom, box.x : box.right] = 0
        expected.append(box)

    inner = InkDetector()
    found = SlicedDetector(inner).detect(strip)

    assert len(inner.calls) > 3
    assert all(h <= SLICE_WIDTHS * width for h, _ in inner.calls)
    assert sorted((line.box for line in found.lines), key=lambda b: b.y) == expected
    assert all(line.polygon[0] == (line.box.x, line.box.y) for line in found.lines)
