"""Read detected lines with PP-OCR recognition (CTC): crop, turn vertical columns on their side, decode.

PP-OCR reads a vertical Japanese column well once it is turned 90° counter-clockwise, except for the glyphs that
stand upright in vertical type — `!`, `?`, `!!`, `!?` — which then lie on their side and get dropped or read as
`ー`. So the last character cell of each column is also read upright on its own, and when it is such a mark the
column is read without it and the mark appended.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import cv2
import numpy as np

from translations.pipeline.contracts import PipelineError, TextLine
from translations.pipeline.detection import ink_mask
from translations.pipeline.registry import onnx_session, path_for

REC_MODEL = "ppocr-v6-rec-small"
# PP-OCRv6 rec reads CJK and Latin with one dictionary; other languages need their own model.
LANGUAGES = {"ja", "zh", "en"}
HEIGHT = 48
BATCH = 8
MAX_RATIO = 40  # a wider crop is split by the detector's mistake, not real text
UPRIGHT_MARKS = {"!", "?", "!!", "!?", "?!", "!!!", "‼", "⁉", "！", "？"}
# A lone stroke over a dot is `!` whatever the model makes of it out of context.
STROKE_READINGS = str.maketrans(dict.fromkeys("1lIiíì|丨", "!"))
MARK_CONFIDENCE = 0.25
# Shapes the model confuses in Japanese where one reading is far more likely in manga lettering.
JAPANESE_FIXES = str.maketrans({"~": "〜", "～": "〜", "卜": "ト"})


class OnnxRecognizer:
    """contracts.Recognizer over PP-OCRv6-small rec; the dictionary is embedded in the model metadata."""

    def __init__(self, model_dir: Path | str) -> None:
        self.model_dir = Path(model_dir)

    def read(self, image: np.ndarray, lines: tuple[TextLine, ...], language: str) -> tuple[TextLine, ...]:
        if language not in LANGUAGES:
            raise PipelineError(
                "ocr",
                f"no recognition model for {language!r} (have {', '.join(sorted(LANGUAGES))}); Korean needs "
                "`python manage.py models fetch ppocr-korean-rec` once its checksum is pinned, or Tesseract",
            )
        if not lines:
            return ()
        crops = [_line_crop(image, line) for line in lines]
        tails = {i: tail for i, line in enumerate(lines) if line.vertical and (tail := _tail_cell(crops[i]))}
        cells = {i: tail[1] for i, tail in tails.items() if not isinstance(tail[1], str)}
        tail_reads = dict(zip(cells, self.recognise(list(cells.values())), strict=True))
        marks: dict[int, str] = {}
        strips = []
        for i, line in enumerate(lines):
            crop = crops[i]
            if i in tails and isinstance(tails[i][1], str):
                marks[i] = tails[i][1]  # type: ignore[assignment]
            elif i in tail_reads:
                text, confidence = tail_reads[i]
                text = text.translate(STROKE_READINGS)
                if text in UPRIGHT_MARKS and confidence >= MARK_CONFIDENCE:
                    marks[i] = text
            if i in marks:
                crop = crop[: tails[i][0]]
            strips.append(np.rot90(crop) if line.vertical else crop)
        reads = self.recognise(strips)
        out = []
        for i, line in enumerate(lines):
            text, confidence = reads[i]
            if i in marks:
                text, confidence = text + marks[i], (confidence if text else 1.0)
            if language == "ja":
                text = text.translate(JAPANESE_FIXES)
            out.append(TextLine(line.box, line.polygon, line.vertical, text=text, confidence=confidence))
        return tuple(out)

    def recognise(self, strips: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) for each horizontal RGB strip; empty strips read as nothing."""
        path = path_for(REC_MODEL, self.model_dir)
        session, charset = onnx_session(path), _charset(path)
        results: list[tuple[str, float]] = [("", 0.0)] * len(strips)
        todo = [i for i, s in enumerate(strips) if min(s.shape[:2]) >= 2 and ink_mask(_gray(s)).any()]
        todo.sort(key=lambda i: strips[i].shape[1] / strips[i].shape[0])  # similar widths share a batch
        for start in range(0, len(todo), BATCH):
            chunk = todo[start : start + BATCH]
            width = max(_scaled_width(strips[i]) for i in chunk)
            blob = np.zeros((len(chunk), 3, HEIGHT, width), np.float32)
            for row, i in enumerate(chunk):
                bgr = np.ascontiguousarray(strips[i][:, :, ::-1])  # PaddleOCR models read BGR
                scaled = cv2.resize(bgr, (_scaled_width(bgr), HEIGHT), interpolation=cv2.INTER_AREA)
                blob[row, :, :, : scaled.shape[1]] = ((scaled.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(
                    2, 0, 1
                )
            probs = session.run(None, {"x": blob})[0]
            for row, i in enumerate(chunk):
                results[i] = _ctc_greedy(probs[row], charset)
        return results


@functools.cache
def _charset(path: Path) -> tuple[str, ...]:
    meta = onnx_session(path).get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise PipelineError("ocr", f"{path.name} carries no character dictionary in its metadata")
    # Index 0 is the CTC blank; PaddleOCR appends a space as the last class.
    return ("", *meta["character"].split("\n"), " ")


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _scaled_width(crop: np.ndarray) -> int:
    h, w = crop.shape[:2]
    return int(np.clip(np.ceil(HEIGHT * w / h), HEIGHT // 2, HEIGHT * MAX_RATIO))


def _line_crop(image: np.ndarray, line: TextLine) -> np.ndarray:
    """The line's quadrilateral straightened into an upright RGB crop (columns stay standing)."""
    quad = np.array(line.polygon, np.float32)
    width = round(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = round(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(int(width), 2), max(int(height), 2)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def _tail_cell(column: np.ndarray) -> tuple[int, np.ndarray | str] | None:
    """How a column ends, when it ends in something read badly on its side: (first row of it, what it is).

    A long thin bar is a dash: its text (`ーー`, one `ー` per glyph length) comes from its length. A stroke over a
    final dot is a `!`/`?`-like mark: its upright image is returned for the recogniser.
    """
    ink = ink_mask(_gray(column))
    runs = _runs(ink.any(axis=1))  # type: ignore[arg-type]
    size = column.shape[1]  # a column is about one glyph wide
    if not runs:
        return None
    widths = [_ink_width(ink[start:end]) for start, end in runs]
    heights = [end - start for start, end in runs]
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(runs)]
    dots = all(_dot(h, w, size) for h, w in zip(heights, widths, strict=True))
    # Dots stand apart (gaps at least their size) and alike; the glyphs of a word nearly touch.
    if len(runs) >= 2 and dots and min(gaps) >= 0.8 * max(heights) and max(heights) <= 1.5 * min(heights):
        return 0, "…" * max(1, round(len(runs) / 3))  # a column of dots alone: a vertical ellipsis
    glyph = max(widths[:-1], default=size)  # the box has margins; the widest glyph is the true size
    last_start, last_end = runs[-1]
    if last_end - last_start >= 1.4 * glyph and widths[-1] <= 0.3 * glyph:
        return last_start, "ー" * max(2, round((last_end - last_start) / glyph))
    if len(runs) < 2:
        return None
    (stroke_start, stroke_end), (dot_start, dot_end) = runs[-2], runs[-1]
    if dot_end - dot_start > 0.3 * size or dot_start - stroke_end > 0.3 * size:
        return None  # no final dot, or it is too far to belong to the stroke above
    if stroke_end - stroke_start < 0.25 * size or (len(runs) > 2 and stroke_end - stroke_start > size):
        return None
    if _ink_width(ink[stroke_start:dot_end]) > 0.8 * size:
        return None  # a full-width glyph: an ordinary character
    pad = max(2, size // 6)
    paper = [int(v) for v in np.median(column[~ink], axis=0)] if (~ink).any() else [255, 255, 255]
    cell = cv2.copyMakeBorder(column[stroke_start:dot_end], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
    return stroke_start, cell


def _dot(height: int, width: int, size: int) -> bool:
    return 0 < width <= 0.6 * size and 0.5 <= height / width <= 2


def _ink_width(ink: np.ndarray) -> int:
    cols = np.flatnonzero(ink.any(axis=0))
    return int(cols[-1] - cols[0] + 1) if len(cols) else 0


def _runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each stretch of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], filled.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _ctc_greedy(probs: np.ndarray, charset: tuple[str, ...]) -> tuple[str, float]:
    best = probs.argmax(axis=1)
    scores = probs.max(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    text = "".join(charset[k] for k in best[keep] if k < len(charset)).strip()
    return text, float(scores[keep].mean()) if keep.any() else 0.0
