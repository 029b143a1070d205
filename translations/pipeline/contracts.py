"""The data that flows between pipeline stages, and the protocol each stage implements.

Images are numpy arrays: RGB pages are uint8 (H, W, 3); masks are bool (H, W). Boxes and
polygons are in page pixels, origin top-left. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def area(self) -> int:
        return max(self.w, 0) * max(self.h, 0)

    def intersection(self, other: Box) -> int:
        w = min(self.right, other.right) - max(self.x, other.x)
        h = min(self.bottom, other.bottom) - max(self.y, other.y)
        return max(w, 0) * max(h, 0)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def union(self, other: Box) -> Box:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y)

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def around(cls, points: np.ndarray | list) -> Box:
        pts = np.asarray(points).reshape(-1, 2)
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
        return cls(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


class Flag(StrEnum):
    """Per-region flags in the page report (DESIGN §4 stage 8)."""

    UNTRANSLATED = "untranslated"  # the translator gave nothing usable for this region
    OVERFLOW = "overflow"  # the translation did not fit its balloon at the minimum size
    LOW_CONFIDENCE = "low_confidence"  # OCR confidence below the threshold
    SFX = "sfx"  # sound effect or free stylised text: left untouched by default
    BLOCKED = "blocked"  # the translator refused (safety) even without the image
    PLATE = "plate"  # the art under the text could not be rebuilt: a plain plate covers it, lettered on
    COLLISION = "collision"  # its lettering overlaps another region's: the layout could not keep them apart


@dataclass(frozen=True)
class TextLine:
    """One detected line (a column, for vertical text) and what OCR read in it."""

    box: Box
    polygon: tuple[tuple[int, int], ...]  # the detector's quadrilateral (or polygon), page pixels
    vertical: bool
    text: str = ""
    confidence: float = 0.0


@dataclass(frozen=True)
class Balloon:
    """A speech balloon or caption box from the segmenter; `mask` covers `box` only (box-local)."""

    box: Box
    mask: np.ndarray = field(compare=False, repr=False)  # bool (box.h, box.w): inside the balloon
    score: float = 1.0


@dataclass(frozen=True)
class TextBlock:
    """One unit of translation: the lines of one balloon or caption, `id` = reading order from 1."""

    id: int
    box: Box
    lines: tuple[TextLine, ...]
    vertical: bool
    balloon: Balloon | None = None  # None for text outside any detected balloon
    flags: frozenset[Flag] = frozenset()

    @property
    def source_text(self) -> str:
        joiner = "" if self.vertical or _is_cjk("".join(line.text for line in self.lines)) else " "
        return joiner.join(line.text for line in self.lines if line.text)


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


@dataclass(frozen=True)
class TranslationRequest:
    image: np.ndarray = field(repr=False)  # the page (RGB), for translators that look at it
    blocks: tuple[TextBlock, ...]
    source_language: str
    target_language: str
    context_translations: tuple[str, ...] = ()  # the previous pages' translations, oldest first, ≤ 3


@dataclass(frozen=True)
class TermProposal:
    """A name or term the translator met on this page and the glossary lacks; staff accept or reject it."""

    source: str
    target: str
    kind: str = "term"  # "character" or "term": the glossary section it would go in


@dataclass(frozen=True)
class TranslationResult:
    texts: dict[int, str | None]  # block id → translation; None: not translated (flagged untranslated)
    flags: dict[int, frozenset[Flag]] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # e.g. {"translator": "gemini-2.5-flash"}
    usage: dict[str, int] = field(default_factory=dict)  # tokens, requests, for cost accounting
    proposed_terms: tuple[TermProposal, ...] = ()  # new glossary terms the translator suggests


class Translator(Protocol):
    name: str
    # False for the cleaning mode: erase the text, letter nothing.
    letters: bool

    def translate(self, request: TranslationRequest) -> TranslationResult: ...


@dataclass(frozen=True)
class Detection:
    balloons: tuple[Balloon, ...]
    lines: tuple[TextLine, ...]  # text not yet read


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> Detection: ...


class Recognizer(Protocol):
    def read(self, image: np.ndarray, lines: tuple[TextLine, ...], language: str) -> tuple[TextLine, ...]: ...


@dataclass(frozen=True)
class Erasure:
    """The page without the blocks' text, the pixels that were filled, and the blocks covered by a plate."""

    image: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)  # bool (H, W)
    plated: frozenset[int] = frozenset()  # block ids: the art under their text could not be rebuilt


class Inpainter(Protocol):
    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LetteredRegion:
    block_id: int
    font_size: int
    overflow: bool
    letter_box: Box | None = None  # bounds of the ink drawn, page pixels
    collision: bool = False  # its ink overlaps another region's after layout


class Letterer(Protocol):
    def letter(
        self, image: np.ndarray, blocks: tuple[TextBlock, ...], texts: dict[int, str], target_language: str
    ) -> tuple[np.ndarray, tuple[LetteredRegion, ...]]: ...


class PipelineError(Exception):
    """A page the pipeline refuses or cannot finish; `stage` names where, the message says why."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
