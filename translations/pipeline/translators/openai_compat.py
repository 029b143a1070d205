"""The `openai_compat` translator: any server speaking Chat Completions (OpenAI, OpenRouter, DeepSeek, vLLM,
llama.cpp, LM Studio, Ollama), with the same contract as `gemini_hq`.

Per page: one request with the boxed page image (when the model takes images), the numbered lines, the last 3
pages as context and the glossary, asking for JSON by schema (`response_format: json_schema`; `json_object` where
the server refuses schemas; our validation either way). Missing, echoed or malformed answers → one repair request,
then `untranslated`. A refusal with the image → the same request without it, then `blocked`. A 404 model or one
that stays unavailable → the fallback model, at this call only. The answer may carry `new_terms`: names and terms
the glossary lacks, which the job stores as proposals for staff. No state is kept between pages.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import time
from collections.abc import Callable

from google.genai import types

from translations.pipeline.contracts import Flag, PipelineError, TermProposal, TranslationRequest, TranslationResult
from translations.pipeline.translators.dictionaries import Glossary, ReplacementDict
from translations.pipeline.translators.gemini_prompt import (
    PageImage,
    page_images,
    page_parts,
    parse_translations,
    response_schema,
    system_prompt,
)
from translations.pipeline.translators.openai_client import (
    ChatClient,
    ChatReply,
    LLMRequestError,
    LLMUnavailable,
    ModelNotFound,
    RequestRecord,
)
from translations.pipeline.translators.openai_config import LLMConfig
from translations.pipeline.translators.terms import page_proposals

logger = logging.getLogger(__name__)

CONTEXT_PAGES = 3
# A 400 naming these is the server saying it cannot do what we asked, not that the request is wrong.
_NO_SCHEMA = re.compile(r"response_format|json_schema|structured output|schema", re.IGNORECASE)
_NO_IMAGE = re.compile(r"image|vision|multimodal|multi-modal|content part|image_url", re.IGNORECASE)


class OpenAICompatTranslator:
    name = "openai_compat"
    letters = True

    def __init__(
        self,
        config: LLMConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.client = ChatClient(config, sleep=sleep, random=random)
        # Read once, here: a broken glossary or dictionary fails before any page is sent.
        self.glossary = Glossary.load(config.glossary).merged(config.learned)
        self.pre = ReplacementDict.load(config.dict_dir / "pre_dict.txt")
        self.post = ReplacementDict.load(config.dict_dir / "post_dict.txt")
        # What this server turned down for a model (`schema`, `image`): not asked again by this translator.
        self.unsupported: set[tuple[str, str]] = set()

    def translate(self, request: TranslationRequest) -> TranslationResult:
        ids = tuple(block.id for block in request.blocks)
        if not ids:
            return TranslationResult(texts={}, models={"translator": self.config.model})
        page = _PageCall(self, request)
        try:
            found, blocked = page.run()
        except (ModelNotFound, LLMUnavailable, LLMRequestError) as exc:
            raise PipelineError("translate", f"LLM server: {exc}") from None
        texts: dict[int, str | None] = {block_id: None for block_id in ids}
        for block_id, text in found.items():
            texts[block_id] = self.post.apply(text).strip() or None
        flags = {
            block_id: frozenset({Flag.BLOCKED if blocked else Flag.UNTRANSLATED})
            for block_id, text in texts.items()
            if text is None
        }
        result = TranslationResult(
            texts=texts, flags=flags, models=page.models(), usage=page.usage(), proposed_terms=page.proposals()
        )
        logger.info(
            "llm page model=%s requests=%d untranslated=%d blocked=%s proposals=%d",
            page.model,
            len(page.records),
            len(flags),
            blocked,
            len(result.proposed_terms),
        )
        return result


class _PageCall:
    """One page's conversation: which model answers, in which format, with or without the image."""

    def __init__(self, translator: OpenAICompatTranslator, request: TranslationRequest) -> None:
        self.translator = translator
        self.config = translator.config
        self.request = request
        self.model = self.config.model
        self.fallback_reason = ""
        self.with_image = self.config.vision != "off" and not self._unsupported("image")
        self.image_note = "page image" if self.with_image else "text only"
        self.records: list[RequestRecord] = []
        self.answers: list[str] = []
        self.originals = {block.id: block.source_text.strip() for block in request.blocks}
        self.sources = {block.id: translator.pre.apply(block.source_text).strip() for block in request.blocks}

    def run(self) -> tuple[dict[int, str], bool]:
        """The usable translations, and whether the model refused the page outright."""
        ids = tuple(self.sources)
        images = page_images(self.request.image, self.request.blocks) if self.with_image else None
        reply, images = self._ask(images, ids)
        if reply.text is None and images:
            # A refusal often comes from the art, not the words: the same lines without the picture.
            self.image_note = f"dropped after {reply.refusal}"
            images = None
            reply, images = self._ask(images, ids)
        if reply.text is None:
            self.image_note += f"; refused: {reply.refusal}"
            return {}, True
        found = self._usable(reply, ids)
        missing = tuple(block_id for block_id in ids if block_id not in found)
        if missing:
            repair, images = self._ask(images, missing, done=found)
            found |= self._usable(repair, missing)
        return found, False

    def _ask(
        self, images: list[PageImage] | None, asked: tuple[int, ...], done: dict[int, str] | None = None
    ) -> tuple[ChatReply, list[PageImage] | None]:
        """One request (and the fallback model behind it); also adapts to what the server cannot take."""
        while True:
            messages = self._messages(images, asked, done)
            try:
                return self._complete(messages, asked), images
            except LLMRequestError as exc:
                if exc.status != 400:
                    raise
                if not self._unsupported("schema") and _NO_SCHEMA.search(exc.message):
                    self.translator.unsupported.add((self.model, "schema"))  # JSON mode, and our validation
                    continue
                if images and self.config.vision == "auto" and _NO_IMAGE.search(exc.message):
                    self.translator.unsupported.add((self.model, "image"))
                    self.image_note = "text only (the model takes no images)"
                    images = None
                    continue
                raise

    def _messages(self, images: list[PageImage] | None, asked: tuple[int, ...], done: dict[int, str] | None) -> list:
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
        prompt = "openai_compat" if images else "openai_compat_text"
        system = system_prompt(
            self.config.dict_dir, prompt, source=self.request.source_language, target=self.request.target_language
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": _content(parts)}]

    def _complete(self, messages: list[dict], asked: tuple[int, ...]) -> ChatReply:
        client = self.translator.client
        try:
            reply = client.complete(
                self.model, messages=messages, response_format=self._format(asked), records=self.records
            )
        except (ModelNotFound, LLMUnavailable) as exc:
            fallback = self.config.fallback_model
            if not fallback or self.model == fallback:
                raise
            logger.warning("llm falls back model=%s fallback=%s reason=%s", self.model, fallback, exc)
            self.fallback_reason, self.model = str(exc), fallback
            reply = client.complete(
                self.model, messages=messages, response_format=self._format(asked), records=self.records
            )
        if reply.text is not None:
            self.answers.append(reply.text)
        return reply

    def _format(self, asked: tuple[int, ...]) -> dict:
        if self._unsupported("schema"):
            return {"type": "json_object"}
        schema = {"name": "page_translations", "strict": False, "schema": response_schema(asked)}
        return {"type": "json_schema", "json_schema": schema}

    def _unsupported(self, feature: str) -> bool:
        return (self.model, feature) in self.translator.unsupported

    def _usable(self, reply: ChatReply, asked: tuple[int, ...]) -> dict[int, str]:
        """Parsed answers minus echoes: the source (as read, or as pre-replaced) is never a translation."""
        found = parse_translations(reply.text, asked)
        return {i: text for i, text in found.items() if text not in (self.originals[i], self.sources[i])}

    def proposals(self) -> tuple[TermProposal, ...]:
        page_text = "\n".join(self.originals.values())
        return page_proposals(self.answers, page_text=page_text, glossary=self.translator.glossary)

    def models(self) -> dict[str, str]:
        models = {
            "translator": self.model,  # the model that answered
            "translator_primary": self.config.model,
            "translator_fallback": self.config.fallback_model or "none",
            "translator_input": self.image_note,
            "translator_format": "json mode" if self._unsupported("schema") else "json schema",
            "translator_requests": "; ".join(f"{r.model} {r.status or 'no response'}" for r in self.records),
        }
        if self.fallback_reason:
            models["translator_fallback_reason"] = self.fallback_reason
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


def _content(parts: list[types.Part]) -> str | list[dict]:
    """The user turn in Chat Completions form: a string without images (every server takes one), else parts."""
    if not any(part.inline_data for part in parts):
        return "\n\n".join(part.text or "" for part in parts)
    content: list[dict] = []
    for part in parts:
        if part.inline_data and part.inline_data.data:
            data = base64.b64encode(part.inline_data.data).decode("ascii")
            url = f"data:{part.inline_data.mime_type or 'image/jpeg'};base64,{data}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        elif part.text:
            content.append({"type": "text", "text": part.text})
    return content
