"""Fill the erased glyphs: a flat fill for plain balloons, PatchMatch (or OpenCV Telea) for tone and art."""

from __future__ import annotations

import math

import cv2
import numpy as np

from translations.pipeline.contracts import Box, Erasure, Flag, Inpainter, TextBlock
from translations.pipeline.masks import balloon_region, block_erase_mask, dominant_colour

try:
    import patchmatch
except ImportError:  # the wheel is optional; Telea stands in for it
    patchmatch = None  # type: ignore[assignment]

# A ring around the hole is "flat" when nearly all of its pixels stay within this distance (per
# channel) of its median: JPEG noise on white paper stays under ~12, screentone dots go far above.
_FLAT_TOLERANCE = 18
_FLAT_SHARE = 0.97
# Halo: pixels this far around the glyph mask that still differ from the paper by more than the tolerance.
_HALO_RADIUS = 2
_HALO_TOLERANCE = 10
# Judging a textured fill: holes of at least this many pixels, a ring this wide, art at least this textured
# (mean |Sobel| over the ring), and a fill under this share of the ring's texture is a smear.
_JUDGE_MIN_PIXELS = 1500
_JUDGE_RING = 8
_JUDGE_FLAT_RING = 20.0
_JUDGE_SMOOTH_SHARE = 0.35


class TeleaInpainter:
    """OpenCV's fast-marching fill: smooth, blurs texture; the fallback when PatchMatch is missing."""

    name = "opencv-telea"

    def __init__(self, radius: int = 3) -> None:
        self.radius = radius

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return image.copy()
        return cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8), self.radius, cv2.INPAINT_TELEA)


class PatchMatchInpainter:
    """PatchMatch (pypatchmatch): copies nearby patches, so screentone and hatching continue through the hole."""

    name = "patchmatch"

    def __init__(self, patch_size: int = 5, seed: int = 0) -> None:
        if patchmatch is None or not patchmatch.patchmatch_available:
            raise RuntimeError("pypatchmatch and its native library are not available")
        self.patch_size = patch_size
        self.seed = seed

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return image.copy()
        # A fixed seed makes the same page give the same pixels, run after run.
        patchmatch.set_random_seed(self.seed)
        return patchmatch.inpaint(np.ascontiguousarray(image), mask, patch_size=self.patch_size)


class BlockEraser:
    """The pipeline's eraser: masks each block's glyphs, then fills block by block on crops.

    A block in a balloon whose paper around the glyphs is plain gets that colour, halo included (the faint
    anti-aliased rim the glyph mask left is taken in, so no grey ghost stays). Anything else (text over tone or
    art, shaded balloons) goes to `textured`, on a crop bounded to `max_fill_pixels` (larger crops are filled at a
    lower resolution, so one region's time is bounded), and the fill is judged: a hole that comes back much
    smoother than the ring of art around it is a smear, and the block gets a plain plate instead.
    """

    def __init__(
        self,
        textured: Inpainter | None = None,
        *,
        include_sfx: bool = False,
        margin: int = 24,
        max_fill_pixels: int = 250_000,
    ) -> None:
        self.textured = textured or default_textured_inpainter()
        self.include_sfx = include_sfx
        self.margin = margin
        self.max_fill_pixels = max_fill_pixels
        self.name = f"flat+{getattr(self.textured, 'name', type(self.textured).__name__)}"

    def __call__(self, image: np.ndarray, blocks: tuple[TextBlock, ...]) -> Erasure:
        return self.erase_page(image, blocks)

    def erase(self, image: np.ndarray, blocks: tuple[TextBlock, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(the image without the blocks' text, the erase mask)."""
        erasure = self.erase_page(image, blocks)
        return erasure.image, erasure.mask

    def erase_page(self, image: np.ndarray, blocks: tuple[TextBlock, ...]) -> Erasure:
        out = image.copy()
        parts: list[tuple[TextBlock, Box, np.ndarray]] = []
        for b in blocks:
            if self.include_sfx or Flag.SFX not in b.flags:
                box, ink = block_erase_mask(image, b)
                parts.append((b, box, ink))
        mask = np.zeros(image.shape[:2], dtype=bool)
        for _, box, ink in parts:
            mask[box.y : box.bottom, box.x : box.right] |= ink
        height, width = mask.shape  # type: ignore[misc]
        plated = set()
        for block, box, ink in parts:
            if not ink.any():
                continue
            crop = out[box.y : box.bottom, box.x : box.right]
            paper = balloon_region(block, box)
            colour = flat_colour(crop, ink, paper=paper)
            if colour is not None:
                halo = _halo(image[box.y : box.bottom, box.x : box.right], ink, colour, paper)
                crop[ink | halo] = colour
                mask[box.y : box.bottom, box.x : box.right] |= halo
                continue
            # The textured fill needs source pixels around the hole: a margin that grows with the block.
            m = max(self.margin, min(box.w, box.h) // 2)
            x0, y0 = max(box.x - m, 0), max(box.y - m, 0)
            x1, y1 = min(box.right + m, width), min(box.bottom + m, height)
            source = out[y0:y1, x0:x1]
            inside = balloon_region(block, Box(x0, y0, x1 - x0, y1 - y0))
            if inside is not None and inside.any():
                # A shaded balloon is filled from itself: the art around it is painted over with its paper.
                source = np.where(inside[..., None], source, dominant_colour(source[inside]).astype(source.dtype))
            # Every block's hole stays a hole here (never a source); only this block's pixels are written.
            hole = mask[y0:y1, x0:x1]
            filled = self._bounded_fill(source, hole)
            own = filled[box.y - y0 : box.bottom - y0, box.x - x0 : box.right - x0]
            if inside is None and smeared(image[y0:y1, x0:x1], filled, hole):
                covered = plate(crop, ink, image[y0:y1, x0:x1], hole)
                mask[box.y : box.bottom, box.x : box.right] |= covered
                plated.add(block.id)
                continue
            crop[ink] = own[ink]
        return Erasure(image=out, mask=mask, plated=frozenset(plated))

    def _bounded_fill(self, source: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """The textured fill of `hole`, on a reduced copy when the crop is larger than `max_fill_pixels`."""
        pixels = hole.shape[0] * hole.shape[1]
        if pixels <= self.max_fill_pixels:
            return self.textured.inpaint(source, hole)
        scale = math.sqrt(self.max_fill_pixels / pixels)
        size = (max(1, round(hole.shape[1] * scale)), max(1, round(hole.shape[0] * scale)))
        small_source = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        small_hole |= cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
        small = self.textured.inpaint(small_source, small_hole)
        up = cv2.resize(small, (hole.shape[1], hole.shape[0]), interpolation=cv2.INTER_LINEAR)
        return np.where(hole[..., None], up, source)


def _halo(crop: np.ndarray, ink: np.ndarray, colour: np.ndarray, paper: np.ndarray | None) -> np.ndarray:
    """Pixels just around the glyph mask still off the paper colour: the anti-aliased rim, JPEG ringing.

    Only within the balloon's paper, a few pixels out, and never ink that reaches the balloon's outline.
    """
    near = _dilate(ink, _HALO_RADIUS) & ~ink
    if paper is not None:
        near &= cv2.erode(paper.astype(np.uint8), np.ones((5, 5), np.uint8), borderValue=0).astype(bool)
    off = np.abs(crop.astype(np.int16) - colour.astype(np.int16)).max(axis=2) > _HALO_TOLERANCE
    return near & off


def smeared(original: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> bool:
    """True when a large fill is far smoother than the art around it: the inpainter could not rebuild it.

    Texture is the mean gradient magnitude; the ring is the art just outside the hole.
    """
    if hole.sum() < _JUDGE_MIN_PIXELS:
        return False
    ring = _dilate(hole, _JUDGE_RING) & ~hole
    if ring.sum() < 64:
        return False
    ring_texture = float(_gradient(original)[ring].mean())
    if ring_texture < _JUDGE_FLAT_RING:
        return False  # plain surroundings: a smooth fill is the right one
    return float(_gradient(filled)[hole].mean()) < _JUDGE_SMOOTH_SHARE * ring_texture


def plate(crop: np.ndarray, ink: np.ndarray, source: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A plain plate over the block's glyphs (their bounds, padded), in the lightest colour of the ring around;
    returns the pixels it covers (crop-local)."""
    ys, xs = np.nonzero(ink)
    pad = 3
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, crop.shape[0])
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, crop.shape[1])
    ring = _dilate(hole, _JUDGE_RING) & ~hole
    pixels = source[ring]
    colour = np.percentile(pixels, 90, axis=0) if len(pixels) else np.array([255, 255, 255])
    crop[y0:y1, x0:x1] = np.round(colour).astype(crop.dtype)
    covered = np.zeros(ink.shape, bool)
    covered[y0:y1, x0:x1] = True
    return covered


def _gradient(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def flat_colour(crop: np.ndarray, hole: np.ndarray, *, paper: np.ndarray | None = None) -> np.ndarray | None:
    """The colour to fill `hole` with when the ring of pixels around it is near-uniform, else None.

    With `paper` (the balloon's interior) the ring stays inside it, so the outline never counts.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    ring = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool) & ~hole
    if paper is not None:
        # Segmenter masks reach onto the outline: keep the ring a few pixels clear of it.
        paper = cv2.erode(paper.astype(np.uint8), kernel, borderValue=0).astype(bool)
        ring &= paper
    pixels = crop[ring]
    if len(pixels) < 8:
        # Glyphs fill the whole balloon, no ring is left: balloons are plain far more often than not,
        # and PatchMatch would pull the art from around the balloon into it.
        return None if paper is None or not paper.any() else np.round(dominant_colour(crop[paper])).astype(crop.dtype)
    median = np.median(pixels, axis=0)
    close = np.abs(pixels.astype(np.int16) - median.astype(np.int16)).max(axis=1) <= _FLAT_TOLERANCE
    if close.mean() < _FLAT_SHARE:
        return None
    return np.round(median).astype(crop.dtype)


def default_textured_inpainter() -> Inpainter:
    """PatchMatch, or Telea when the PatchMatch library cannot load."""
    if patchmatch is not None and patchmatch.patchmatch_available:
        return PatchMatchInpainter()
    return TeleaInpainter()
