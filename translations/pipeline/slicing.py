"""Very tall pages (webtoon strips) are detected in overlapping slices, then stitched back.

Detection models shrink their input to a fixed size; a 720×14000 strip shrunk whole would make
its text a few pixels tall. Each slice keeps the page width, and the overlap is large enough that
any balloon up to `overlap` pixels tall lies wholly inside at least one slice.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from translations.pipeline.contracts import Balloon, Box, Detection, Detector, TextLine

TALL_RATIO = 3.0  # pages taller than this many widths are sliced
SLICE_WIDTHS = 3.5  # slice height, in page widths (the detectors shrink taller input too far)
OVERLAP_WIDTHS = 0.75  # overlap between slices, in page widths
DUPLICATE_IOU = 0.5


class SlicedDetector:
    """A Detector that runs `inner` on overlapping slices of tall pages."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner

    def detect(self, image: np.ndarray) -> Detection:
        height, width = image.shape[:2]
        if height <= TALL_RATIO * width:
            return self.inner.detect(image)
        balloons: list[Balloon] = []
        lines: list[TextLine] = []
        for top, bottom in slice_bounds(height, width):
            found = self.inner.detect(image[top:bottom])
            first, last = top == 0, bottom == height
            balloons += [_shift_balloon(b, top) for b in found.balloons if _whole(b.box, bottom - top, first, last)]
            lines += [_shift_line(line, top) for line in found.lines if _whole(line.box, bottom - top, first, last)]
        return Detection(
            balloons=tuple(_unique(balloons, key=lambda b: b.box)),
            lines=tuple(_unique(lines, key=lambda line: line.box)),
        )


def slice_bounds(height: int, width: int) -> list[tuple[int, int]]:
    size = max(int(SLICE_WIDTHS * width), 1)
    overlap = int(OVERLAP_WIDTHS * width)
    stride = max(size - overlap, 1)
    bounds = []
    top = 0
    while True:
        bottom = min(top + size, height)
        bounds.append((top, bottom))
        if bottom == height:
            return bounds
        top += stride


def _whole(box: Box, slice_height: int, first: bool, last: bool) -> bool:
    """False for an element cut by an inner slice edge: a neighbouring slice holds it whole."""
    margin = 2
    cut_at_top = not first and box.y <= margin
    cut_at_bottom = not last and box.bottom >= slice_height - margin
    # Taller than the overlap and cut on both sides: no slice holds it whole; keep this part.
    return not (cut_at_top or cut_at_bottom) or (cut_at_top and cut_at_bottom)


def _shift_balloon(balloon: Balloon, dy: int) -> Balloon:
    return replace(balloon, box=balloon.box.shifted(0, dy))


def _shift_line(line: TextLine, dy: int) -> TextLine:
    return replace(line, box=line.box.shifted(0, dy), polygon=tuple((x, y + dy) for x, y in line.polygon))


def _unique(items: list, *, key) -> list:
    """Drop elements found twice in an overlap (the first, upper, copy wins)."""
    kept: list = []
    for item in items:
        if all(key(item).iou(key(other)) < DUPLICATE_IOU for other in kept):
            kept.append(item)
    return kept
