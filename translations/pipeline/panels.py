"""Find a page's panels for reading order: a recursive XY-cut of the page image along near-white gutters.

A gutter is a straight band, at least `gutter` thick, in which every line across the region being cut is
near-white (a few dark pixels tolerated). Balloons and text are painted white first (their masks and boxes,
grown by a few pixels to take in outlines): a balloon or a caption that crosses a panel border then no longer
closes the gutter it crosses, which is exactly the case that ordering the blocks alone gets wrong. The cut goes
across first (rows of panels, top to bottom), then along (panels in a row, right to left for right-to-left
reading), and recurses into each piece until no gutter is left; the pieces tile the page, so every block lies in
one. Inside a framed panel no line across is near-white (the side frames cross it), so panels are not split.

Why not contours of the binarised page: frameless panels, art bleeding into the gutter and balloons drawn over
borders break closed frames, while gutters survive all three. What this does not find: slanted gutters (a
region cut by one stays whole and its blocks keep the block-level XY-cut), black gutters, and panels that
overlap. A page with no gutter (a splash page, an unframed strip) is one panel: reading order falls back to the
blocks alone. One pass over the (subsampled) page plus row and column sums per region: a few milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box


@dataclass(frozen=True)
class PanelSettings:
    gutter: float = 0.004  # thinnest gutter, share of the page's short side (at least 2 px)
    min_panel: float = 0.05  # a strip thinner than this share of the short side is no panel (titles, page numbers)
    tolerance: float = 0.003  # dark pixels allowed on a gutter line, share of the line's length (at least 1)
    grow: float = 0.006  # balloons and text boxes are whitened this share of the short side beyond their edges
    paper_margin: int = 48  # near-white: within this many levels of the page's paper white ...
    light_floor: int = 120  # ... and never darker than this
    light_ceiling: int = 215  # ... nor required brighter than this
    max_pixels: int = 1_500_000  # larger pages are subsampled to about this many pixels


DEFAULT = PanelSettings()


def detect_panels(
    image: np.ndarray,
    *,
    rtl: bool = True,
    balloons: Sequence[Balloon] = (),
    boxes: Sequence[Box] = (),
    settings: PanelSettings = DEFAULT,
) -> list[Box]:
    """The page's panel cells in reading order; they tile the page. One cell (the page) when no gutter is found."""
    height, width = image.shape[:2]
    if not height or not width:
        return []
    step = max(1, math.ceil(math.sqrt(height * width / settings.max_pixels)))
    light = _light(image[::step, ::step], settings)
    short = min(light.shape)
    ignored = np.zeros(light.shape, dtype=np.uint8)
    for balloon in balloons:
        _paint_mask(ignored, balloon, step)
    for box in boxes:
        _paint_box(ignored, box, step)
    grow = 2 * max(1, round(settings.grow * short)) + 1
    light |= cv2.dilate(ignored, np.ones((grow, grow), np.uint8)).view(bool)
    cutter = _Cutter(
        dark=~light,
        gutter=max(2, round(settings.gutter * short)),
        min_panel=max(2, round(settings.min_panel * short)),
        tolerance=settings.tolerance,
        rtl=rtl,
    )
    cells = cutter.cut(0, light.shape[0], 0, light.shape[1])
    # Back to page pixels: cut lines scale by `step`, the last cells reach the page's own edges.
    scaled = []
    for y0, y1, x0, x1 in cells:
        top, left = y0 * step, x0 * step
        bottom = height if y1 == light.shape[0] else y1 * step
        right = width if x1 == light.shape[1] else x1 * step
        scaled.append(Box(left, top, right - left, bottom - top))
    return scaled


def assign(boxes: Sequence[Box], panels: Sequence[Box]) -> list[int]:
    """For each box, the index of the panel holding most of it (the nearest one to its centre when none does)."""
    homes = []
    for box in boxes:
        overlaps = [box.intersection(panel) for panel in panels]
        best = max(range(len(panels)), key=lambda p: overlaps[p])
        if overlaps[best] == 0:
            cx, cy = box.x + box.w / 2, box.y + box.h / 2
            best = min(range(len(panels)), key=lambda p: _distance(panels[p], cx, cy))
        homes.append(best)
    return homes


def _distance(box: Box, x: float, y: float) -> float:
    return math.hypot(max(box.x - x, x - box.right, 0), max(box.y - y, y - box.bottom, 0))


def _light(image: np.ndarray, settings: PanelSettings) -> np.ndarray:
    """Near-white pixels: every channel within `paper_margin` of the paper's white (a bright percentile)."""
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] >= 3:
        gray = np.minimum(np.minimum(image[..., 0], image[..., 1]), image[..., 2])  # faster than .min(axis=2)
    else:
        gray = image.reshape(image.shape[:2])
    counts = np.bincount(gray.ravel(), minlength=256)
    paper = int(np.searchsorted(np.cumsum(counts), 0.99 * gray.size))  # the 99th percentile
    threshold = min(max(paper - settings.paper_margin, settings.light_floor), settings.light_ceiling)
    return gray >= threshold


def _paint_mask(ignored: np.ndarray, balloon: Balloon, step: int) -> None:
    """Mark a balloon's mask pixels that fall on the subsampled grid."""
    b = balloon.box
    mask = np.asarray(balloon.mask, dtype=bool)
    if mask.shape != (b.h, b.w):
        _paint_box(ignored, b, step)
        return
    # Page rows b.y + i with (b.y + i) % step == 0 land on subsampled row (b.y + i) // step; likewise columns.
    y_first, x_first = (-b.y) % step, (-b.x) % step
    small = mask[y_first::step, x_first::step]
    top, left = (b.y + y_first) // step, (b.x + x_first) // step
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + small.shape[0], ignored.shape[0]), min(left + small.shape[1], ignored.shape[1])
    if y1 > y0 and x1 > x0:
        ignored[y0:y1, x0:x1] |= small[y0 - top : y1 - top, x0 - left : x1 - left]


def _paint_box(ignored: np.ndarray, box: Box, step: int) -> None:
    y0, x0 = max(box.y // step, 0), max(box.x // step, 0)
    y1, x1 = min(-(-box.bottom // step), ignored.shape[0]), min(-(-box.right // step), ignored.shape[1])
    if y1 > y0 and x1 > x0:
        ignored[y0:y1, x0:x1] = 1


@dataclass
class _Cutter:
    dark: np.ndarray
    gutter: int
    min_panel: int
    tolerance: float
    rtl: bool

    def cut(self, y0: int, y1: int, x0: int, x1: int) -> list[tuple[int, int, int, int]]:
        """Cells (y0, y1, x0, x1) of the region in reading order: across first, then along, recursively."""
        region = self.dark[y0:y1, x0:x1]
        rows = self._pieces(region.sum(axis=1, dtype=np.int32), x1 - x0)
        if len(rows) > 1:
            return [cell for a, b in rows for cell in self.cut(y0 + a, y0 + b, x0, x1)]
        columns = self._pieces(region.sum(axis=0, dtype=np.int32), y1 - y0)
        if len(columns) > 1:
            ordered = reversed(columns) if self.rtl else columns
            return [cell for a, b in ordered for cell in self.cut(y0, y1, x0 + a, x0 + b)]
        return [(y0, y1, x0, x1)]

    def _pieces(self, dark_per_line: np.ndarray, length: int) -> list[tuple[int, int]]:
        """The region split at the middle of each gutter between panel-sized content strips: (start, stop)s."""
        content = dark_per_line > max(1, self.tolerance * length)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], content.view(np.int8), [0]))))
        runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        # Content strips closer than a gutter are one strip; strips too thin to be a panel are not cut off.
        merged: list[list[int]] = []
        for a, b in runs:
            if merged and a - merged[-1][1] < self.gutter:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        strips = [(a, b) for a, b in merged if b - a >= self.min_panel]
        if len(strips) < 2:
            return [(0, len(dark_per_line))]
        cuts = [(strips[i][1] + strips[i + 1][0]) // 2 for i in range(len(strips) - 1)]
        bounds = [0, *cuts, len(dark_per_line)]
        return list(itertools.pairwise(bounds))
