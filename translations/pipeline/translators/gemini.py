"""The Gemini translators (DESIGN §5): `gemini_hq` sends the page image, `gemini` text only; same JSON contract.

Per page: one request; missing or echoed ids → one repair request, then `untranslated`; a refusal with the
image → the same request without it, then `blocked`; a missing or unavailable model → the fallback model, at
this call only (nothing before the translate stage is re-run). No state is kept between pages.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from google.genai import types

from translations.pipeline.contracts import Flag, PipelineError, TranslationRequest, TranslationResult
from translations.pipeline.report import MODEL_FALLBACK, MODEL_FALLBACK_REASON, MODEL_PRIMARY, MODEL_SELECTED
from translations.pipeline.translators import GEMINI, GEMINI_HQ
from translations.pipeline.translators.dictionaries import Glossary, ReplacementDict
from translations.pipeline.translators.gemini_client import (
    GeminiClient,
    GeminiRequestError,
    GeminiUnavailable,
    ModelNotFound,
    Reply,
    RequestRecord,
)
from translations.pipeline.translators.gemini_config import GeminiConfig
from translations.pipeline.translators.gemini_prompt import (
    PageImage,
    page_images,
    page_parts,
    parse_translations,
    response_schema,
    system_prompt,
)
from translations.pipeline.translators.terms import page_proposals

logger = logging.getLogger(__name__)

CONTEXT_PAGES = 3


class GeminiTranslator:
    letters = True

    def __init__(
        self,
        config: GeminiConfig,
        *,
        with_image: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        if not config.api_key:
            raise PipelineError("translate", "the Gemini translators need GEMINI_API_KEY")
        self.name = GEMINI_HQ if with_image else GEMINI
        self.with_image = with_image
        self.config = config
        self.client = GeminiClient(config, sleep=sleep, random=random)
        # Read once, here: a broken glossary or dictionary fails before any page is sent.
        self.glossary = Glossary.load(config.glossary).merged(config.learned)
        self.pre = ReplacementDict.load(config.dict_dir / "pre_dict.txt")
        self.post = ReplacementDict.load(config.dict_dir / "post_dict.txt")

    def translate(self, request: TranslationRequest) -> TranslationResult:
        ids = tuple(block.id for block in request.blocks)
        if not ids:
            return TranslationResult(texts={}, models={"translator": self.config.model})
        page = _PageCall(self, request)
        try:
            found, blocked = page.run()
        except (ModelNotFound, GeminiUnavailable, GeminiRequestError) as exc:
            raise PipelineError("translate", f"Gemini: {exc}") from None
        texts: dict[int, str | None] = {block_id: None for block_id in ids}
        for block_id, text in found.items():
            texts[block_id] = self.post.apply(text).strip() or None
        flags = {
            block_id: frozenset({Flag.BLOCKED if blocked else Flag.UNTRANSLATED})
            for block_id, text in texts.items()
            if text is None
        }
        proposals = page_proposals(page.answers, page_text="\n".join(page.originals.values()), glossary=self.glossary)
        result = TranslationResult(
            texts=texts, flags=flags, models=page.models(), usage=page.usage(), proposed_terms=proposals
        )
        logger.info(
            "gemini page translator=%s model=%s requests=%d untranslated=%d blocked=%s usage=%s",
            self.name,
            page.model,
            len(page.records),
            len(flags),
            blocked,
            {key: value for key, value in result.usage.items() if not key.startswith("request_")},
        )
        return result


class _PageCall:
    """One page's conversation: which model answers, what was sent, what each request cost."""

    def __init__(self, translator: GeminiTranslator, request: TranslationRequest) -> None:
        self.translator = translator
        self.config = translator.config
        self.request = request
        self.model = self.config.model
        self.fallback_reason = ""
        self.image_note = "page image" if translator.with_image else "text only"
        self.records: list[RequestRecord] = []
        self.answers: list[str] = []  # every answer's JSON, for the glossary proposals
        self.originals = {block.id: block.source_text.strip() for block in request.blocks}
        self.sources = {block.id: translator.pre.apply(block.source_text).strip() for block in request.blocks}
        self.system = system_prompt(
            self.config.dict_dir, translator.name, source=request.source_language, target=request.target_language
        )

    def run(self) -> tuple[dict[int, str], bool]:
        """The usable translations, and whether the model refused the page outright."""
        ids = tuple(self.sources)
        images = page_images(self.request.image, self.request.blocks) if self.translator.with_image else None
        reply = self._ask(images, ids)
        if reply.text is None and images:
            # A refusal often comes from the art, not the words: the same lines without the picture.
            self.image_note = f"dropped after {reply.refusal}"
            images = None
            reply = self._ask(images, ids)
        if reply.text is None:
            self.image_note += f"; refused: {reply.refusal}"
            return {}, True
        found = self._usable(reply, ids)
        missing = tuple(block_id for block_id in ids if block_id not in found)
        if missing:
            found |= self._usable(self._ask(images, missing, done=found), missing)
        return found, False

    def _ask(self, images: list[PageImage] | None, asked: tuple[int, ...], done: dict[int, str] | None = None) -> Reply:
        parts = page_parts(
            sources=self.sources,
            source=self.request.source_language,
            target=self.request.target_language,
            context=tuple(self.request.context_translations[-CONTEXT_PAGES:]),
            glossary=self.translator.glossary,
            images=images,
            asked=asked,
            done=done,
        )
        return self._generate(parts, response_schema(asked))

    def _generate(self, parts: list[types.Part], schema: dict) -> Reply:
        client = self.translator.client
        try:
            return client.generate(self.model, system=self.system, parts=parts, schema=schema, records=self.records)
        except (ModelNotFound, GeminiUnavailable) as exc:
            fallback = self.config.fallback_model
            if not fallback or self.model == fallback:
                raise
            logger.warning("gemini falls back model=%s fallback=%s reason=%s", self.model, fallback, exc)
            self.fallback_reason, self.model = str(exc), fallback
            return client.generate(self.model, system=self.system, parts=parts, schema=schema, records=self.records)

    def _usable(self, reply: Reply, asked: tuple[int, ...]) -> dict[int, str]:
        """Parsed answers minus echoes: the source (as read, or as pre-replaced) is never a translation."""
        if reply.text is not None:
            self.answers.append(reply.text)
        found = parse_translations(reply.text, asked)
        return {i: text for i, text in found.items() if text not in (self.originals[i], self.sources[i])}

    def models(self) -> dict[str, str]:
        models = {
            MODEL_SELECTED: self.model,  # the model that answered
            MODEL_PRIMARY: self.config.model,
            MODEL_FALLBACK: self.config.fallback_model or "none",
            "translator_input": self.image_note,
            "translator_requests": "; ".join(f"{r.model} {r.status or 'no response'}" for r in self.records),
        }
        if self.fallback_reason:
            models[MODEL_FALLBACK_REASON] = self.fallback_reason
        return models

    def usage(self) -> dict[str, int]:
        """Totals, then each request (cost accounting needs the failed ones too: they take time, some are billed)."""
        usage = {
            "requests": len(self.records),
            "prompt_tokens": sum(r.prompt_tokens for r in self.records),
            "output_tokens": sum(r.output_tokens for r in self.records),
            "thinking_tokens": sum(r.thinking_tokens for r in self.records),
            "latency_ms": sum(r.latency_ms for r in self.records),
        }
        for n, record in enumerate(self.records, start=1):
            usage |= {
                f"request_{n}_http_status": record.status,
                f"request_{n}_prompt_tokens": record.prompt_tokens,
                f"request_{n}_output_tokens": record.output_tokens,
                f"request_{n}_thinking_tokens": record.thinking_tokens,
                f"request_{n}_latency_ms": record.latency_ms,
            }
        return usage
