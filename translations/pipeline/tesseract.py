"""OCR through the Tesseract command line, for source languages without an ONNX recogniser (Korean).

All line crops of a page are stacked into one image and read by one `tesseract` process, then
the words are assigned back to their crops by position: one process start per page, not per line.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import replace

import numpy as np
from PIL import Image

from translations.pipeline.contracts import PipelineError, TextLine

TESSERACT_LANGUAGES = {"ko": "kor", "en": "eng"}
LINE_HEIGHT = 48  # px: crops are scaled to this height, where Tesseract reads best
GAP = 24  # px of white between stacked crops
TIMEOUT_SECONDS = 60


class TesseractRecognizer:
    def __init__(self, binary: str = "tesseract") -> None:
        self.binary = binary

    def read(self, image: np.ndarray, lines: tuple[TextLine, ...], language: str) -> tuple[TextLine, ...]:
        code = TESSERACT_LANGUAGES.get(language)
        if code is None:
            raise PipelineError("ocr", f"Tesseract is not set up for {language!r} here")
        if not lines:
            return ()
        stacked, spans = _stack([_crop(image, line) for line in lines])
        words = self._words(stacked, code)
        texts: list[list[tuple[int, str, float]]] = [[] for _ in lines]
        for left, centre_y, text, confidence in words:
            for index, (top, bottom) in enumerate(spans):
                if top <= centre_y < bottom:
                    texts[index].append((left, text, confidence))
                    break
        read = []
        for line, found in zip(lines, texts, strict=True):
            found.sort()
            confidence = min((c for _, _, c in found), default=0.0)
            read.append(replace(line, text=" ".join(t for _, t, _ in found), confidence=confidence))
        return tuple(read)

    def _words(self, image: Image.Image, code: str) -> list[tuple[int, int, str, float]]:
        if shutil.which(self.binary) is None:
            raise PipelineError(
                "ocr", "the tesseract program is missing; install it (Debian: tesseract-ocr tesseract-ocr-kor)"
            )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        command = [self.binary, "stdin", "stdout", "-l", code, "--psm", "6", "tsv"]
        try:
            done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
                command, input=buffer.getvalue(), capture_output=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            raise PipelineError("ocr", f"tesseract took longer than {TIMEOUT_SECONDS}s") from None
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise PipelineError("ocr", f"tesseract failed: {message[-1] if message else done.returncode}")
        words = []
        rows = csv.DictReader(io.StringIO(done.stdout.decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in rows:
            text = (row.get("text") or "").strip()
            if row.get("level") != "5" or not text:
                continue
            centre_y = int(row["top"]) + int(row["height"]) // 2
            words.append((int(row["left"]), centre_y, text, max(float(row["conf"]), 0.0) / 100))
        return words


def _crop(image: np.ndarray, line: TextLine) -> Image.Image:
    box = line.box
    pad = max(2, box.h // 8) if not line.vertical else max(2, box.w // 8)
    y0, y1 = max(box.y - pad, 0), min(box.bottom + pad, image.shape[0])
    x0, x1 = max(box.x - pad, 0), min(box.right + pad, image.shape[1])
    crop = Image.fromarray(image[y0:y1, x0:x1]).convert("L")
    if line.vertical:
        # Korean vertical text is rare; read a column as a line turned clockwise-up.
        crop = crop.rotate(90, expand=True)
    scale = LINE_HEIGHT / max(crop.height, 1)
    return crop.resize((max(int(crop.width * scale), 1), LINE_HEIGHT), Image.Resampling.LANCZOS)


def _stack(crops: list[Image.Image]) -> tuple[Image.Image, list[tuple[int, int]]]:
    width = max(crop.width for crop in crops) + 2 * GAP
    height = sum(crop.height for crop in crops) + GAP * (len(crops) + 1)
    canvas = Image.new("L", (width, height), 255)
    spans = []
    y = GAP
    for crop in crops:
        canvas.paste(crop, (GAP, y))
        # Words are assigned by their centre: give each crop half the gap on both sides.
        spans.append((y - GAP // 2, y + crop.height + GAP // 2))
        y += crop.height + GAP
    return canvas, spans
