"""The cloudrun executor on the split compute path (MANGA_CLOUDRUN_SPLIT=1; docs/compute-service.md, *Split path*).

Per page: `detect` on the compute service (started ahead for the next pages, while this one is translated) →
the translator runs here, in the worker, on the detected blocks → `render` on the service (erase, letter,
encode). Anything that stops the split path — the service lacks the routes, a detect fails, the render's key
expired or was evicted, a retryable error — sends the page the unified way (`CloudRunExecutor.translate_page`,
with its retries), and the report's `models.compute_path` says why. Requests go through `compute_send`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from compute_service import contract
from compute_service.split_contract import DETECT_PATH, READ_EXPIRED, RENDER_PATH, DetectResult, RenderRequest
from translations.executors import (
    CloudRunExecutor,
    ExecutorError,
    PageExecution,
    PageWork,
    StageCallback,
    _translator_options,
    compute_send,
)
from translations.pipeline.contracts import TranslationResult
from translations.readahead import PageReader

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """A page the service detected: its blocks and key, and what the detect call cost."""

    result: DetectResult
    request_bytes: int
    response_bytes: int
    remote_elapsed_ms: int
    cold_start: bool


class SplitUnavailable(Exception):
    """The split path cannot serve this page; the unified path will. The bytes already spent travel along."""

    def __init__(self, reason: str, *, request_bytes: int = 0, response_bytes: int = 0) -> None:
        super().__init__(reason)
        self.request_bytes = request_bytes
        self.response_bytes = response_bytes


class SplitCloudRunExecutor(CloudRunExecutor):
    def __init__(self, *, read_ahead: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.read_ahead = read_ahead
        self.detections: PageReader[Detection] = PageReader(self._detect, depth=read_ahead)

    def prefetch(self, works: Sequence[PageWork]) -> None:
        """Ask the service to detect these pages (the current one first) while this worker translates."""
        if self.read_ahead:
            self.detections.prefetch([(work.image, work.source_language) for work in works])

    def translate_page(self, work: PageWork, *, on_stage: StageCallback) -> PageExecution:
        started = time.perf_counter()
        spent = [0, 0]
        try:
            on_stage("detect")
            detection = self.detections.take(work.image, work.source_language)
            spent = [detection.request_bytes, detection.response_bytes]
            on_stage("translate")
            result, translate_ms = self._translate(work, detection.result)
            on_stage("render")
            return self._render(work, detection, result, translate_ms, started)
        except SplitUnavailable as exc:
            logger.warning("page %s: split path unavailable (%s), unified path", work.correlation_id, exc)
            execution = super().translate_page(work, on_stage=on_stage)
            return dataclasses.replace(
                execution,
                report=execution.report.with_models(compute_path=f"unified (split fallback: {exc})"),
                request_bytes=execution.request_bytes + spent[0] + exc.request_bytes,
                response_bytes=execution.response_bytes + spent[1] + exc.response_bytes,
                translate_elapsed_ms=round((time.perf_counter() - started) * 1000),
            )

    def _post(self, path: str, **request_args) -> requests.Response:
        headers = contract.request_headers(self.token) | request_args.pop("headers", {})
        prepared = requests.Request("POST", self.url.rstrip("/") + path, headers=headers, **request_args).prepare()
        try:
            return compute_send(prepared, timeout=self.timeout_sec)
        except requests.RequestException as exc:
            raise SplitUnavailable(f"{path}: {type(exc).__name__}", request_bytes=len(prepared.body or b"")) from None

    def _detect(self, image: bytes, source_language: str) -> Detection:
        """Runs in the reader thread; failures are kept and raised at the page's turn."""
        files = {"image": ("page", image, "application/octet-stream")}
        response = self._post(DETECT_PATH, files=files, data={"source_language": source_language})
        received = len(response.content)
        if response.status_code != 200:
            error = contract.error_from_response(response.status_code, response.headers, response.content)
            reason = f"detect answered {error.status} {error.code}"
            raise SplitUnavailable(reason, request_bytes=len(image), response_bytes=received)
        try:
            result = DetectResult.from_json(response.content)
        except contract.ContractError as exc:
            raise SplitUnavailable(exc.message, request_bytes=len(image), response_bytes=received) from None
        remote = response.headers.get(contract.Header.REMOTE_ELAPSED_MS.value) or "0"
        return Detection(
            result=result,
            request_bytes=len(image),
            response_bytes=received,
            remote_elapsed_ms=int(remote) if remote.isdigit() else 0,
            cold_start=response.headers.get(contract.Header.COLD_START.value) == "true",
        )

    def _translate(self, work: PageWork, detected: DetectResult) -> tuple[TranslationResult, int]:
        """The translator, here in the worker, on the blocks the service found (what the engine would ask it)."""
        from translations.pipeline.contracts import Flag, PipelineError, TranslationRequest
        from translations.pipeline.factory import get_translator
        from translations.pipeline.loading import load_page

        started = time.perf_counter()
        blocks = tuple(block.to_text_block() for block in detected.blocks)
        handled = tuple(block for block in blocks if Flag.SFX not in block.flags)
        try:
            translator = get_translator(work.translator, **_translator_options(work))
            if not handled:
                return TranslationResult(texts={}), 0
            request = TranslationRequest(
                image=load_page(work.image).image,
                blocks=handled,
                source_language=work.source_language,
                target_language=work.target_language,
                context_translations=tuple(work.context_translations[-3:]),
            )
            result = translator.translate(request)
        except PipelineError as exc:
            raise ExecutorError(exc.stage, str(exc), code="pipeline_failed") from None
        return result, round((time.perf_counter() - started) * 1000)

    def _render(
        self, work: PageWork, detection: Detection, result: TranslationResult, translate_ms: int, started: float
    ) -> PageExecution:
        key = detection.result.key
        body = RenderRequest(key, work.target_language, work.translator, result, translate_ms).to_json()
        response = self._post(RENDER_PATH, data=body, headers={"Content-Type": "application/json"})
        sent = detection.request_bytes + len(body)
        received = detection.response_bytes + len(response.content)
        try:
            answer = contract.decode_page_response(response.status_code, response.headers, response.content)
        except contract.ContractError as exc:
            if exc.code == READ_EXPIRED or exc.retryable:
                reason = f"render answered {exc.status} {exc.code}"
                raise SplitUnavailable(reason, request_bytes=len(body), response_bytes=len(response.content)) from None
            raise ExecutorError(
                exc.stage or "remote",
                f"the compute service answered {exc.status} {exc.code}: {exc.message}",
                code=exc.code,
                request_bytes=sent,
                response_bytes=received,
                translate_elapsed_ms=round((time.perf_counter() - started) * 1000),
            ) from None
        report = answer.report.with_models(compute_path="split")
        return PageExecution(
            image=answer.image,
            image_format=answer.image_format,
            report=report,
            changed=None,  # the job service compares bytes, as for the unified path
            fallback_used=report.fallback_used,
            request_bytes=sent,
            response_bytes=received,
            remote_elapsed_ms=detection.remote_elapsed_ms + answer.meta.remote_elapsed_ms,
            translate_elapsed_ms=round((time.perf_counter() - started) * 1000),
            transport_attempts=1,
            cold_start=detection.cold_start,
        )
