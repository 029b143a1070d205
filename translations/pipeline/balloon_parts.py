"""Give each text block its own space: a balloon mask shared by several blocks is split between them.

The segmenter sometimes returns one mask for two joined balloons, or one balloon holds two separate blocks;
lettering each block centred on the whole mask prints them over each other. The split is a watershed on the
mask's distance to its own edge, seeded by each block's lines: floods start at the blocks and meet where the
mask is thinnest (the neck between joined balloons), or halfway between two blocks in one round balloon. Each
part keeps only mask pixels, so lettering and erasure stay inside the balloon.

A mask that covers a large share of the page is a panel background or a missed segmentation, not a balloon:
`is_balloon` refuses it and its text is handled as text over art.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from translations.pipeline.contracts import Balloon, Box, TextLine

MAX_BOX_SHARE = 0.15  # a balloon's box is at most this share of the page
MAX_MASK_SHARE = 0.10  # ... and its mask at most this share


def is_balloon(balloon: Balloon, page_shape: tuple[int, ...]) -> bool:
    """False for masks too large to be a speech balloon (panel backgrounds, whole-panel segmentations)."""
    page = float(page_shape[0] * page_shape[1])
    return balloon.box.area <= MAX_BOX_SHARE * page and float(balloon.mask.sum()) <= MAX_MASK_SHARE * page


def split_balloon(balloon: Balloon, groups: Sequence[Sequence[TextLine]]) -> list[Balloon]:
    """One part of `balloon` per group of lines (same order); the balloon itself when there is one group."""
    if len(groups) < 2:
        return [balloon] * len(groups)
    box, mask = balloon.box, balloon.mask.astype(bool)
    markers = np.zeros(mask.shape, np.int32)
    background = len(groups) + 1
    markers[~_dilate(mask, 1)] = background
    for label, lines in enumerate(groups, start=1):
        seed = np.zeros(mask.shape, np.uint8)
        for line in lines:
            polygon = np.asarray(line.polygon, np.int32).reshape(-1, 2) - (box.x, box.y)
            if len(polygon) >= 3:
                cv2.fillPoly(seed, [polygon], 1)
            else:
                b = line.box.shifted(-box.x, -box.y)
                seed[max(b.y, 0) : max(b.bottom, 0), max(b.x, 0) : max(b.right, 0)] = 1
        markers[(seed > 0) & mask] = label
    depth = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    # Deep inside floods first, necks last: the relief is the inverted depth.
    relief = (255 - 255 * depth / max(float(depth.max()), 1.0)).astype(np.uint8)
    labels = cv2.watershed(cv2.merge([relief, relief, relief]), markers)
    parts = []
    for label in range(1, len(groups) + 1):
        part = (labels == label) & mask
        parts.append(_balloon_part(balloon, part) if part.any() else balloon)
    return parts


def _balloon_part(balloon: Balloon, part: np.ndarray) -> Balloon:
    ys, xs = np.nonzero(part)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    box = Box(balloon.box.x + x0, balloon.box.y + y0, x1 - x0, y1 - y0)
    return Balloon(box=box, mask=part[y0:y1, x0:x1].copy(), score=balloon.score)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
