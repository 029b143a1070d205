"""Wires the real stages into a PagePipeline, and turns a translator name (translators/__init__.py) into one.

Models load lazily: building the pipeline opens no ONNX session until the first page is read.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from translations.pipeline.contracts import PipelineError, Recognizer, TextLine, Translator
from translations.pipeline.detection import OnnxDetector
from translations.pipeline.engine import PagePipeline
from translations.pipeline.grouping import group_lines
from translations.pipeline.inpainting import BlockEraser
from translations.pipeline.lettering import BalloonLetterer
from translations.pipeline.loading import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from translations.pipeline.ocr import LANGUAGES as ONNX_OCR_LANGUAGES
from translations.pipeline.ocr import OnnxRecognizer
from translations.pipeline.slicing import SlicedDetector
from translations.pipeline.tesseract import TesseractRecognizer
from translations.pipeline.translators import GEMINI_HQ, GEMINI_TRANSLATORS, NONE, OPENAI_COMPAT, TEST, TRANSLATORS
from translations.pipeline.translators.gemini_config import GeminiConfig
from translations.pipeline.translators.offline import CleaningTranslator, FixedTextTranslator
from translations.pipeline.translators.openai_config import LLMConfig

# The names are the pipeline's one list (translators/__init__.py); the earlier name stays for its callers.
TRANSLATOR_NAMES = TRANSLATORS


class LanguageRecognizer:
    """The ONNX recogniser where it knows the language, Tesseract elsewhere (Korean)."""

    def __init__(self, onnx: Recognizer, fallback: Recognizer) -> None:
        self.onnx = onnx
        self.fallback = fallback

    def read(self, image: np.ndarray, lines: tuple[TextLine, ...], language: str) -> tuple[TextLine, ...]:
        engine = self.onnx if language in ONNX_OCR_LANGUAGES else self.fallback
        return engine.read(image, lines, language)


def build_pipeline(
    model_dir: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PagePipeline:
    eraser = BlockEraser(include_sfx=True)  # the engine has already chosen which blocks to erase
    return PagePipeline(
        detector=SlicedDetector(OnnxDetector(model_dir)),
        recognizer=LanguageRecognizer(OnnxRecognizer(model_dir), TesseractRecognizer()),
        grouper=group_lines,
        eraser=eraser,
        letterer=BalloonLetterer(),
        models={
            "detector": "manga-bubble-seg + ppocr-v6-det-small",
            "ocr": "ppocr-v6-rec-small (ko: tesseract)",
            "inpainter": eraser.name,
        },
        max_bytes=max_bytes,
        max_pixels=max_pixels,
    )


@functools.cache
def shared_pipeline(model_dir: str) -> PagePipeline:
    """One pipeline per process and model dir: its ONNX sessions are made once, after any fork."""
    return build_pipeline(model_dir)


def get_translator(
    name: str, *, text: str | None = None, gemini: GeminiConfig | None = None, llm: LLMConfig | None = None
) -> Translator:
    """`gemini` carries the key, models and timeouts for the Gemini translators, `llm` the server and models for
    `openai_compat` (the caller reads its settings)."""
    if name == NONE:
        return CleaningTranslator()
    if name == TEST:
        return FixedTextTranslator(text) if text else FixedTextTranslator()
    if name in GEMINI_TRANSLATORS:
        if gemini is None or not gemini.api_key:
            raise PipelineError("translate", f"the {name} translator needs GEMINI_API_KEY")
        # google-genai takes about a second to import: only a process that translates with Gemini pays for it.
        from translations.pipeline.translators.gemini import GeminiTranslator

        return GeminiTranslator(gemini, with_image=name == GEMINI_HQ)
    if name == OPENAI_COMPAT:
        if llm is None:
            raise PipelineError("translate", "openai_compat needs MANGA_LLM_BASE_URL and MANGA_LLM_MODEL")
        # It builds its requests with google-genai's types (shared with Gemini's prompt): imported here too.
        from translations.pipeline.translators.openai_compat import OpenAICompatTranslator

        return OpenAICompatTranslator(llm)
    raise PipelineError("translate", f"unknown translator {name!r}; use one of: {', '.join(TRANSLATOR_NAMES)}")
