"""Build the erase mask: the glyph pixels of each text block, not whole boxes, so art around the text survives."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.contracts import Box, Flag, TextBlock

# Otsu splits the crop into ink and background; ink edges (anti-aliasing, JPEG ringing) sit below
# that split, so the threshold is taken lower, then clamped so paper noise never counts as ink.
_THRESHOLD_SHARE = 0.5
_MIN_THRESHOLD = 28
_MAX_THRESHOLD = 110


def build_erase_mask(image: np.ndarray, blocks: tuple[TextBlock, ...], *, include_sfx: bool = False) -> np.ndarray:
    """Full-page bool mask of the pixels to erase; SFX blocks are left out unless `include_sfx`."""
    mask = np.zeros(image.shape[:2], dtype=bool)
    for block in blocks:
        if Flag.SFX in block.flags and not include_sfx:
            continue
        box, crop = block_erase_mask(image, block)
        if box.area:
            mask[box.y : box.bottom, box.x : box.right] |= crop
    return mask


def block_erase_mask(image: np.ndarray, block: TextBlock) -> tuple[Box, np.ndarray]:
    """The glyph mask of one block, as (crop box in page pixels, bool mask of the crop)."""
    size = _glyph_size(block)
    # Detector polygons hug the glyphs and sometimes cut their edges: grow them before thresholding.
    pad = max(2, round(0.2 * size))
    grow = max(1, round(0.08 * size)) + 1
    box = _crop_box(block, pad + grow + 2, image.shape[:2])
    if not box.area:
        return box, np.zeros((0, 0), dtype=bool)
    crop = image[box.y : box.bottom, box.x : box.right]
    lines = _line_region(block, box)
    region = _dilate(lines, pad)
    inside = balloon_region(block, box)
    if inside is not None:
        region &= inside
    if not region.any():
        return box, region

    background = _background_colour(crop, region, inside)
    diff = np.abs(crop.astype(np.int16) - background.astype(np.int16)).max(axis=2).astype(np.uint8)
    values = diff[region]
    otsu, _ = cv2.threshold(values.reshape(1, -1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    threshold = float(np.clip(otsu * _THRESHOLD_SHARE, _MIN_THRESHOLD, _MAX_THRESHOLD))
    ink = region & (diff > threshold)
    if inside is None:
        return box, _dilate(ink, grow)
    floating, edge = _split_marks(diff > threshold, inside, size)
    # Catch the anti-aliased rim and JPEG halo around each stroke, but never leave the balloon nor
    # eat into its outline (ink touching the balloon's edge, outside the detected lines).
    return box, _dilate(ink | floating, grow) & inside & ~_dilate(edge & ~lines, 1)


def _split_marks(ink: np.ndarray, inside: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(glyph-sized ink floating free inside the balloon, ink touching the balloon's edge).

    Floating marks are what the detector missed (furigana, dashes, a lone "!"); ink touching the
    edge is the outline, or art the segmenter let in.
    """
    edge = inside & ~_erode(inside, 3)
    ink = ink & inside
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[edge & ink])
    big = np.flatnonzero(
        (stats[:, cv2.CC_STAT_WIDTH] > 4 * size)
        | (stats[:, cv2.CC_STAT_HEIGHT] > 4 * size)
        | (stats[:, cv2.CC_STAT_AREA] > 4 * size * size)
    )
    keep = np.ones(count, dtype=bool)
    keep[0] = False
    keep[touching] = False
    keep[big] = False
    edge_labels = np.zeros(count, dtype=bool)
    edge_labels[touching] = True
    edge_labels[0] = False
    return keep[labels], edge_labels[labels]


def _glyph_size(block: TextBlock) -> float:
    """Typical glyph size: the short side of the line boxes (column width for vertical text)."""
    sides = [min(line.box.w, line.box.h) for line in block.lines if line.box.area]
    if not sides:
        return float(min(block.box.w, block.box.h))
    return float(np.median(sides))


def _crop_box(block: TextBlock, margin: int, shape: tuple[int, ...]) -> Box:
    box = block.box if block.balloon is None else block.box.union(block.balloon.box)
    for line in block.lines:
        box = box.union(line.box)
    height, width = shape[:2]
    x0, y0 = max(box.x - margin, 0), max(box.y - margin, 0)
    x1, y1 = min(box.right + margin, width), min(box.bottom + margin, height)
    return Box(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


def _line_region(block: TextBlock, box: Box) -> np.ndarray:
    region = np.zeros((box.h, box.w), dtype=np.uint8)
    polygons = [np.asarray(line.polygon, dtype=np.int32).reshape(-1, 2) for line in block.lines]
    polygons = [p - (box.x, box.y) for p in polygons if len(p) >= 3]
    if polygons:
        cv2.fillPoly(region, polygons, 1)
    else:
        # No polygons (a caption the detector only boxed): the block box is all we know.
        b = block.box.shifted(-box.x, -box.y)
        region[max(b.y, 0) : b.bottom, max(b.x, 0) : b.right] = 1
    return region.astype(bool)


def balloon_region(block: TextBlock, box: Box) -> np.ndarray | None:
    """The balloon's interior within the crop `box`, or None for text outside any balloon."""
    balloon = block.balloon
    if balloon is None:
        return None
    inside = np.zeros((box.h, box.w), dtype=bool)
    b = balloon.box
    x0, y0 = max(b.x, box.x), max(b.y, box.y)
    x1, y1 = min(b.right, box.right), min(b.bottom, box.bottom)
    if x1 > x0 and y1 > y0:
        inside[y0 - box.y : y1 - box.y, x0 - box.x : x1 - box.x] = balloon.mask[
            y0 - b.y : y1 - b.y, x0 - b.x : x1 - b.x
        ]
    return inside


def _background_colour(crop: np.ndarray, region: np.ndarray, inside: np.ndarray | None) -> np.ndarray:
    """The paper colour the glyphs stand out from; its comparison with each pixel picks the ink polarity."""
    if inside is not None and inside.any():
        return dominant_colour(crop[inside])
    # Without a balloon, the lines' own surroundings decide.
    ring = _dilate(region, 3) & ~region
    pixels = crop[ring] if ring.sum() >= 16 else crop[region]
    return np.median(pixels, axis=0)


def dominant_colour(pixels: np.ndarray) -> np.ndarray:
    """The most common colour of (N, 3) pixels: a balloon's paper, even where its text covers half of it.

    Paper is one colour while ink spreads over many grey levels, so the fullest coarse bin is paper.
    """
    bins = (pixels // 32).astype(np.int32)
    keys = (bins[:, 0] * 8 + bins[:, 1]) * 8 + bins[:, 2]
    fullest = np.bincount(keys).argmax()
    return np.median(pixels[keys == fullest], axis=0)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask.astype(np.uint8), kernel, borderValue=0).astype(bool)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
