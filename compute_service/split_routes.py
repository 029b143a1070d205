"""The split path's two routes: detect (read a page, keep it under a key) and render (finish it with translations).

`ComputeApp` routes `POST /internal/translate/detect|render` through the same guard as the unified route (token,
contract version, body cap, page slots), then calls `serve`; the pipeline work runs in the app's page threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable

from compute_service import contract
from compute_service.config import _int
from compute_service.contract import ContractError, ErrorCode, Header
from compute_service.multipart import MultipartError, media_type, param, split_multipart
from compute_service.read_cache import DEFAULT_MAX_ENTRIES, DEFAULT_TTL_S, ReadCache
from compute_service.split_contract import (
    DETECT_PATH,
    READ_EXPIRED,
    RENDER_PATH,
    DetectedBlock,
    DetectResult,
    RenderRequest,
    parse_render_request,
)
from translations.pipeline.contracts import PipelineError, TranslationRequest, TranslationResult
from translations.pipeline.engine import PageRead

logger = logging.getLogger(__name__)

Served = tuple[str, bytes, list[tuple[str, str]]]  # content type, body, headers
Serve = Callable[[str, bytes, float], Awaitable[Served]]


class GivenTranslator:
    """Hands the engine the translation the worker already made (the split path translates outside the service)."""

    def __init__(self, name: str, result: TranslationResult) -> None:
        self.name = name
        self.letters = name != "none"
        self.result = result

    def translate(self, request: TranslationRequest) -> TranslationResult:
        return self.result


class SplitRoutes:
    def __init__(self, app) -> None:
        self.app = app
        self.cache: ReadCache[PageRead] = ReadCache(
            ttl_s=_int(os.environ, "MANGA_COMPUTE_READ_TTL_SEC", DEFAULT_TTL_S),
            max_entries=_int(os.environ, "MANGA_COMPUTE_READ_CACHE_PAGES", DEFAULT_MAX_ENTRIES),
        )

    def serve_for(self, path: str) -> Serve | None:
        return {DETECT_PATH: self.detect, RENDER_PATH: self.render}.get(path)

    async def detect(self, content_type: str, body: bytes, started: float) -> Served:
        image, language = _parse_detect_request(content_type, body)
        loop = asyncio.get_running_loop()
        result, cold_start = await loop.run_in_executor(self.app.executor, self._detect, image, language)
        headers = [
            (Header.CONTRACT_VERSION.value, contract.CONTRACT_VERSION),
            (Header.REGIONS_COUNT.value, str(len(result.blocks))),
            (Header.REMOTE_ELAPSED_MS.value, str(_ms_since(started))),
            (Header.COLD_START.value, "true" if cold_start else "false"),
        ]
        return "application/json", result.to_json(), headers

    async def render(self, content_type: str, body: bytes, started: float) -> Served:
        from compute_service.app import _meta

        request = parse_render_request(content_type, body)
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(self.app.executor, self._render, request)
        content_type, payload = contract.encode_page_response(done.image, done.image_format, done.report)
        return content_type, payload, _meta(done, started).to_headers()

    def _pipeline(self):
        self.app.warmup.wait()
        if self.app.warmup.pipeline is None:
            raise ContractError(ErrorCode.NOT_READY, f"the models did not load: {self.app.warmup.reason}")
        return self.app.warmup.pipeline

    def _detect(self, image: bytes, language: str) -> tuple[DetectResult, bool]:
        from compute_service.app import _check_image

        _check_image(image, self.app.config.max_image_pixels)
        cold_start = not self.app.warmup.done
        pipeline = self._pipeline()
        try:
            read = pipeline.read(image, source_language=language)
        except PipelineError as exc:
            code = ErrorCode.CORRUPT_IMAGE if exc.stage == "load" else ErrorCode.PIPELINE_FAILED
            raise ContractError(code, str(exc), stage=exc.stage) from None
        key = self.cache.put(read)
        blocks = [
            DetectedBlock(b.id, b.box.as_list(), b.vertical, b.source_text, sorted(str(f) for f in b.flags))
            for b in read.blocks
        ]
        result = DetectResult(key=key, ttl_s=round(self.cache.ttl_s), blocks=blocks, timings_ms=read.timings_ms)
        return result, cold_start

    def _render(self, request: RenderRequest):
        from compute_service.app import PageDone

        pipeline = self._pipeline()
        read = self.cache.pop(request.key)
        if read is None:
            raise ContractError(READ_EXPIRED, "the page read for this key expired or was evicted", status=410)
        try:
            outcome = pipeline.finish(
                read,
                translator=GivenTranslator(request.translator, request.result),
                target_language=request.target_language,
            )
        except PipelineError as exc:
            raise ContractError(ErrorCode.PIPELINE_FAILED, str(exc), stage=exc.stage) from None
        timings = {**outcome.report.timings_ms, "translate": request.translate_ms}
        report = dataclasses.replace(outcome.report, timings_ms=timings)
        return PageDone(outcome.image, outcome.format, report, cold_start=False)


def _parse_detect_request(content_type: str, body: bytes) -> tuple[bytes, str]:
    from translations.pipeline.languages import SOURCE_LANGUAGES

    if media_type(content_type) != "multipart/form-data":
        raise ContractError(ErrorCode.BAD_REQUEST, "the request must be multipart/form-data")
    try:
        parts = {param(h, "content-disposition", "name"): content for h, content in split_multipart(content_type, body)}
    except MultipartError as exc:
        raise ContractError(ErrorCode.BAD_REQUEST, str(exc)) from None
    if not parts.get("image"):
        raise ContractError(ErrorCode.BAD_REQUEST, "missing field 'image'")
    language = parts.get("source_language", b"").decode("utf-8", "replace").strip()
    if language not in SOURCE_LANGUAGES:
        raise ContractError(
            ErrorCode.UNKNOWN_LANGUAGE,
            f"unknown source language {language!r}; use one of: {', '.join(SOURCE_LANGUAGES)}",
        )
    return parts["image"], language


def _ms_since(started: float) -> int:
    import time

    return round((time.perf_counter() - started) * 1000)
