"""Fill the erased glyphs: a flat fill for plain balloons, PatchMatch (or OpenCV Telea) for tone and art."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.contracts import Box, Flag, Inpainter, TextBlock
from translations.pipeline.masks import balloon_region, block_erase_mask, dominant_colour

try:
    import patchmatch
except ImportError:  # the wheel is optional; Telea stands in for it
    patchmatch = None  # type: ignore[assignment]

# A ring around the hole is "flat" when nearly all of its pixels stay within this distance (per
# channel) of its median: JPEG noise on white paper stays under ~12, screentone dots go far above.
_FLAT_TOLERANCE = 18
_FLAT_SHARE = 0.97


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

    A block in a balloon whose paper around the glyphs is plain gets that colour; anything else
    (text over tone or art, shaded balloons) goes to `textured`.
    """

    def __init__(self, textured: Inpainter | None = None, *, include_sfx: bool = False, margin: int = 24) -> None:
        self.textured = textured or default_textured_inpainter()
        self.include_sfx = include_sfx
        self.margin = margin
        self.name = f"flat+{getattr(self.textured, 'name', type(self.textured).__name__)}"

    def __call__(self, image: np.ndarray, blocks: tuple[TextBlock, ...]) -> np.ndarray:
        return self.erase(image, blocks)[0]

    def erase(self, image: np.ndarray, blocks: tuple[TextBlock, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(the image without the blocks' text, the erase mask)."""
        out = image.copy()
        parts = [(b, *block_erase_mask(image, b)) for b in blocks if self.include_sfx or Flag.SFX not in b.flags]
        mask = np.zeros(image.shape[:2], dtype=bool)
        for _, box, ink in parts:
            mask[box.y : box.bottom, box.x : box.right] |= ink
        height, width = mask.shape  # type: ignore[misc]
        for block, box, ink in parts:
            if not ink.any():
                continue
            crop = out[box.y : box.bottom, box.x : box.right]
            colour = flat_colour(crop, ink, paper=balloon_region(block, box))
            if colour is not None:
                crop[ink] = colour
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
            filled = self.textured.inpaint(source, mask[y0:y1, x0:x1])
            own = filled[box.y - y0 : box.bottom - y0, box.x - x0 : box.right - x0]
            crop[ink] = own[ink]
        return out, mask


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
