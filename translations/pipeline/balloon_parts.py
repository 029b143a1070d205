"""Give each text block its own space: a balloon mask shared by several blocks is split between them.

The segmenter sometimes returns one mask for two joined balloons, or one balloon holds two separate blocks;
lettering each block centred on the whole mask prints them over each other. The split is a watershed on the
mask's distance to its own edge, seeded by each block's lines: floods start at the blocks, fill the deep parts
first and meet where the mask is thinnest (the neck between joined balloons), or between the two blocks of one
round balloon. Each part keeps only mask pixels, so lettering and erasure stay inside the balloon.

A mask that covers a large share of the page is a panel background or a missed segmentation, not a balloon:
`is_balloon` refuses it and its text is handled as text over art.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box, TextLine

# Dialogue balloons on the dev pages stay under 6 % of the page, a splash page's under ~15 %; a panel is more.
MAX_BOX_SHARE = 0.25  # a balloon's box is at most this share of the page
MAX_MASK_SHARE = 0.18  # ... and its mask at most this share
_FLOOD_PIXELS = 12_000  # larger masks are split on a coarser grid (the flood is a Python loop)


def is_balloon(balloon: Balloon, page_shape: tuple[int, ...]) -> bool:
    """False for masks too large to be a speech balloon (panel backgrounds, whole-panel segmentations)."""
    page = float(page_shape[0] * page_shape[1])
    return balloon.box.area <= MAX_BOX_SHARE * page and float(balloon.mask.sum()) <= MAX_MASK_SHARE * page


def split_balloon(balloon: Balloon, groups: Sequence[Sequence[TextLine]]) -> list[Balloon]:
    """One part of `balloon` per group of lines (same order); the balloon itself when there is one group."""
    if len(groups) < 2:
        return [balloon] * len(groups)
    box, mask = balloon.box, balloon.mask.astype(bool)
    step = max(1, math.ceil(math.sqrt(mask.sum() / _FLOOD_PIXELS)))
    small = mask[::step, ::step]
    seeds = np.zeros(small.shape, np.int32)
    for label, lines in enumerate(groups, start=1):
        seed = np.zeros(mask.shape, np.uint8)
        for line in lines:
            polygon = np.asarray(line.polygon, np.int32).reshape(-1, 2) - (box.x, box.y)
            if len(polygon) >= 3:
                cv2.fillPoly(seed, [polygon], 1)
            b = line.box.shifted(-box.x, -box.y)
            # The line's centre always seeds, so a line thinner than the grid step still counts.
            cy, cx = (b.y + b.h // 2) // step, (b.x + b.w // 2) // step
            if 0 <= cy < small.shape[0] and 0 <= cx < small.shape[1]:
                seeds[cy, cx] = label
        seeds[(seed[::step, ::step] > 0) & small] = label
    seeds[~small] = 0
    depth = cv2.distanceTransform(np.pad(small.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    labels = _flood(depth, seeds, small)
    if step > 1:
        labels = cv2.resize(labels, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_NEAREST)
        labels = labels[: mask.shape[0], : mask.shape[1]]
    parts = []
    for label in range(1, len(groups) + 1):
        part = (labels == label) & mask
        parts.append(_balloon_part(balloon, part) if part.any() else balloon)
    return parts


def _flood(depth: np.ndarray, seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Priority flood from the seeds, deepest pixels first: a flood crosses a neck only after its own lobe is full."""
    labels = seeds.copy()
    height, width = mask.shape
    heap = [(-float(depth[y, x]), int(y), int(x)) for y, x in zip(*np.nonzero(seeds), strict=True)]
    heapq.heapify(heap)
    while heap:
        _, y, x = heapq.heappop(heap)
        label = labels[y, x]
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not labels[ny, nx]:
                labels[ny, nx] = label
                heapq.heappush(heap, (-float(depth[ny, nx]), ny, nx))
    return labels


def _balloon_part(balloon: Balloon, part: np.ndarray) -> Balloon:
    ys, xs = np.nonzero(part)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    box = Box(balloon.box.x + x0, balloon.box.y + y0, x1 - x0, y1 - y0)
    return Balloon(box=box, mask=part[y0:y1, x0:x1].copy(), score=balloon.score)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
