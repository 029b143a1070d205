"""The page pipeline: bytes in, translated (or cleaned) bytes and a PageReport out, every stage timed.

    load → detect → ocr → group → translate → erase + inpaint → letter → encode
    |------- read() --------|   |------------------- finish() -------------------|

`run` is `finish(read(…))`; the two halves exist so a worker can read the next pages while this one waits
for its translation (docs/read-ahead.md). The stages are injected (see `factory.py` for the real ones), so
tests and the compute service build the same engine. Every failure leaves as a PipelineError naming its stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from translations.pipeline.contracts import (
    Balloon,
    Detector,
    Erasure,
    Flag,
    LetteredRegion,
    Letterer,
    PipelineError,
    Recognizer,
    TextBlock,
    TextLine,
    TranslationRequest,
    TranslationResult,
    Translator,
)
from translations.pipeline.languages import RIGHT_TO_LEFT, check_languages
from translations.pipeline.loading import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, LoadedPage, encode_page, load_page
from translations.pipeline.report import PageReport, RegionReport

logger = logging.getLogger(__name__)

# Below this many pixels on a side there is no legible text to find.
MIN_TEXT_PAGE_SIDE = 24

Grouper = Callable[..., tuple[TextBlock, ...]]  # (lines, balloons, *, image, rtl) → blocks in reading order
Eraser = Callable[[np.ndarray, tuple[TextBlock, ...]], Erasure]  # (image, blocks) → image without their text


@dataclass(frozen=True)
class PageOutcome:
    image: bytes
    format: str  # JPEG, PNG or WEBP
    report: PageReport
    changed: bool  # something was erased or lettered
    blocks: tuple[TextBlock, ...]  # every block found, for debug overlays and evaluation


@dataclass(frozen=True)
class PageRead:
    """Stages 1–4 of one page (load → detect → OCR → group): everything translation needs, nothing it decides."""

    page: LoadedPage
    blocks: tuple[TextBlock, ...]
    source_language: str
    timings_ms: dict[str, int]  # of the stages run so far, in order


class PagePipeline:
    def __init__(
        self,
        *,
        detector: Detector,
        recognizer: Recognizer,
        grouper: Grouper,
        eraser: Eraser,
        letterer: Letterer,
        models: dict[str, str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.detector = detector
        self.recognizer = recognizer
        self.grouper = grouper
        self.eraser = eraser
        self.letterer = letterer
        self.models = models
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def run(
        self,
        data: bytes,
        *,
        translator: Translator,
        source_language: str,
        target_language: str,
        context_translations: tuple[str, ...] = (),
        include_sfx: bool = False,
        output_format: str | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> PageOutcome:
        """`output_format` (JPEG, PNG, WEBP) defaults to the input's format; `on_stage(name)` is called as
        each stage starts (live progress)."""
        check_languages(source_language, target_language)
        read = self.read(data, source_language=source_language, on_stage=on_stage)
        return self.finish(
            read,
            translator=translator,
            target_language=target_language,
            context_translations=context_translations,
            include_sfx=include_sfx,
            output_format=output_format,
            on_stage=on_stage,
        )

    def read(self, data: bytes, *, source_language: str, on_stage: Callable[[str], None] | None = None) -> PageRead:
        """Load, detect, OCR and group one page; depends on nothing of the pages before it."""
        timings = _Timings(on_stage)
        with _stage("load", timings):
            page = load_page(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        blocks = self._read(page.image, source_language, timings)
        return PageRead(page=page, blocks=blocks, source_language=source_language, timings_ms=dict(timings))

    def finish(
        self,
        read: PageRead,
        *,
        translator: Translator,
        target_language: str,
        context_translations: tuple[str, ...] = (),
        include_sfx: bool = False,
        output_format: str | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> PageOutcome:
        """Translate, erase, letter and encode a page `read` made; the translation gets the previous pages' text."""
        source_language = read.source_language
        check_languages(source_language, target_language)
        timings = _Timings(on_stage)
        timings.update(read.timings_ms)
        page, blocks = read.page, read.blocks
        image = page.image
        handled = tuple(
            block for block in blocks if (include_sfx or Flag.SFX not in block.flags) and not unreadable(block)
        )

        with _stage("translate", timings):
            result = _translate(translator, image, handled, source_language, target_language, context_translations)
        texts, flags = _resolve(translator, handled, result)

        # Cleaning mode erases every handled block; a translation erases only what it can replace.
        erase = handled if not translator.letters else tuple(b for b in handled if texts.get(b.id))
        lettered: tuple[LetteredRegion, ...] = ()
        if erase:
            with _stage("inpaint", timings):
                erasure = self.eraser(image, erase)
            image = erasure.image
            for block_id in erasure.plated:
                flags[block_id] = flags[block_id] | {Flag.PLATE}
            if translator.letters:
                with _stage("letter", timings):
                    # `erase` holds only blocks with a text when the translator letters.
                    image, lettered = self.letterer.letter(
                        image, erase, {b.id: texts[b.id] or "" for b in erase}, target_language
                    )
                for region in lettered:
                    if region.overflow:
                        flags[region.block_id] = flags[region.block_id] | {Flag.OVERFLOW}
                    if region.collision:
                        flags[region.block_id] = flags[region.block_id] | {Flag.COLLISION}
        with _stage("encode", timings):
            fmt = output_format or page.format
            encoded = encode_page(image, fmt)

        report = PageReport(
            width=int(page.image.shape[1]),
            height=int(page.image.shape[0]),
            source_language=source_language,
            target_language=target_language,
            translator=translator.name,
            mode="translate" if translator.letters else "cleaning",
            regions=[_region(block, texts, flags, {r.block_id: r for r in lettered}) for block in blocks],
            timings_ms=dict(timings),
            models={**self.models, **result.models},
            usage=dict(result.usage),
            frames=page.frames,
            proposed_terms=[asdict(term) for term in result.proposed_terms],
            collisions=sum(region.collision for region in lettered),
        )
        logger.info(
            "page done translator=%s regions=%d erased=%d timings_ms=%s",
            translator.name,
            len(blocks),
            len(erase),
            timings,
        )
        return PageOutcome(image=encoded, format=fmt, report=report, changed=bool(erase), blocks=blocks)

    def _read(self, image: np.ndarray, language: str, timings: _Timings) -> tuple[TextBlock, ...]:
        if min(image.shape[:2]) < MIN_TEXT_PAGE_SIDE:
            return ()
        with _stage("detect", timings):
            detection = self.detector.detect(image)
        with _stage("ocr", timings):
            lines: tuple[TextLine, ...] = self.recognizer.read(image, detection.lines, language)
        with _stage("group", timings):
            balloons: tuple[Balloon, ...] = detection.balloons
            return self.grouper(lines, balloons, image=image, rtl=language in RIGHT_TO_LEFT)


def unreadable(block: TextBlock) -> bool:
    """Text outside any balloon that OCR reads badly: a menu strip, a sweat mark, a doodle more often than text.

    It is left as it is (flagged `low_confidence` in the report): erasing art is worse than leaving a word.
    """
    return block.balloon is None and Flag.LOW_CONFIDENCE in block.flags


class _Timings(dict):
    """Stage name → milliseconds, and who to tell when a stage starts."""

    def __init__(self, on_stage: Callable[[str], None] | None) -> None:
        super().__init__()
        self.on_stage = on_stage


@contextmanager
def _stage(name: str, timings: _Timings) -> Iterator[None]:
    if timings.on_stage is not None:
        timings.on_stage(name)
    started = time.perf_counter()
    try:
        yield
    except PipelineError:
        raise
    except Exception as exc:
        # A stage's own bug or a model's failure: name the stage, keep the cause for the log.
        raise PipelineError(name, f"{type(exc).__name__}: {exc}") from exc
    finally:
        timings[name] = round((time.perf_counter() - started) * 1000)


def _translate(
    translator: Translator,
    image: np.ndarray,
    blocks: tuple[TextBlock, ...],
    source: str,
    target: str,
    context: tuple[str, ...],
) -> TranslationResult:
    if not blocks:
        return TranslationResult(texts={})
    request = TranslationRequest(
        image=image,
        blocks=blocks,
        source_language=source,
        target_language=target,
        context_translations=tuple(context[-3:]),
    )
    return translator.translate(request)


def _resolve(
    translator: Translator, blocks: tuple[TextBlock, ...], result: TranslationResult
) -> tuple[dict[int, str | None], dict[int, frozenset[Flag]]]:
    """Per block: the text to letter, and the flags. The source text is never used as a translation."""
    texts: dict[int, str | None] = {}
    flags: dict[int, frozenset[Flag]] = {}
    for block in blocks:
        text = (result.texts.get(block.id) or "").strip() or None
        if text is not None and text == block.source_text.strip():
            text = None  # an echo of the source is not a translation
        block_flags = block.flags | result.flags.get(block.id, frozenset())
        if translator.letters and text is None:
            block_flags |= {Flag.UNTRANSLATED}
        texts[block.id] = text
        flags[block.id] = block_flags
    return texts, flags


def _region(
    block: TextBlock,
    texts: dict[int, str | None],
    flags: dict[int, frozenset[Flag]],
    lettered: dict[int, LetteredRegion],
) -> RegionReport:
    confidences = [line.confidence for line in block.lines]
    drawn = lettered.get(block.id)
    return RegionReport(
        id=block.id,
        box=block.box.as_list(),
        source_text=block.source_text,
        translation=texts.get(block.id),
        flags=sorted(flags.get(block.id, block.flags)),
        font_size=drawn.font_size if drawn else None,
        letter_box=drawn.letter_box.as_list() if drawn and drawn.letter_box else None,
        confidence=round(min(confidences), 3) if confidences else None,
    )
