"""The compute service's ASGI application: auth, limits, and one page through the pipeline in a worker thread.

A plain ASGI callable, no framework: three routes, and nothing of Django is needed to serve them.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
import math
import os
import statistics
import time
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from compute_service import contract
from compute_service.config import ServiceConfig
from compute_service.contract import ContractError, ErrorCode, Header, PageMeta, PageRequest
from compute_service.metrics import Metrics
from compute_service.warmup import Warmup, WarmupState
from translations.pipeline.report import PageReport

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_S = 5  # before this process has timed a page
RECENT_PAGES = 20


@dataclass(frozen=True)
class PageDone:
    image: bytes
    image_format: str
    report: PageReport
    cold_start: bool


class ClientGone(Exception):
    """The client hung up before its request body arrived."""


class ComputeApp:
    def __init__(self, config: ServiceConfig, *, metrics: Metrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.warmup = Warmup(config, self.metrics)
        # The pipeline is blocking CPU (or GPU) work: it runs here so the event loop keeps answering.
        self.executor = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="compute-page")
        self.in_flight = 0  # only touched on the event loop, so no lock
        self.recent_seconds: deque[float] = deque(maxlen=RECENT_PAGES)
        self._tokens = tuple(token.encode() for token in config.tokens)
        from compute_service.split_routes import SplitRoutes

        self.split = SplitRoutes(self)  # POST /internal/translate/detect and /render (docs/compute-service.md)

    def start(self) -> None:
        self.warmup.start()

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return  # no websockets, and uvicorn runs with lifespan events off
        route = (scope["method"], scope["path"])
        try:
            if route == ("GET", contract.HEALTH_PATH):
                await self._health(send)
            elif route == ("GET", contract.METRICS_PATH):
                self._authorise(scope)
                await _respond(send, 200, self.metrics.render().encode(), "text/plain; version=0.0.4")
            elif route == ("POST", contract.TRANSLATE_PATH):
                await self._translate(scope, receive, send)
            elif scope["method"] == "POST" and (serve := self.split.serve_for(scope["path"])):
                await self._translate(scope, receive, send, serve=serve)
            elif scope["path"] in (contract.HEALTH_PATH, contract.METRICS_PATH, contract.TRANSLATE_PATH) or (
                self.split.serve_for(scope["path"])
            ):
                raise ContractError(ErrorCode.METHOD_NOT_ALLOWED, f"{scope['method']} is not allowed here")
            else:
                raise ContractError(ErrorCode.NOT_FOUND, f"no route {scope['path']!r}")
        except ContractError as error:
            # Refused before its body was read: close, rather than read a body nobody will use.
            await _error(send, error, close=scope["method"] == "POST")

    def _authorise(self, scope: dict) -> None:
        presented = _header(scope, Header.TOKEN.value)
        # Compare against every accepted token, so the time taken does not tell which one nearly matched.
        matches = [hmac.compare_digest(presented, token) for token in self._tokens]
        if not any(matches):
            self.metrics.add("compute_auth_failures_total")
            reason = "missing" if not presented else "wrong"
            logger.warning("refused a request with a %s token path=%s", reason, scope["path"])
            raise ContractError(ErrorCode.UNAUTHORIZED, f"{reason} {Header.TOKEN.value}")

    async def _health(self, send) -> None:
        warmup = self.warmup
        providers = sorted({provider for used in warmup.providers.values() for provider in used})
        body = {
            "status": warmup.state.value,
            "reason": warmup.reason or None,
            "providers": providers,
            "models": warmup.providers,
            "contract_version": contract.CONTRACT_VERSION,
            "in_flight": self.in_flight,
        }
        # Alive while warming up (requests wait for the models); 503 only when it never will be ready.
        status = 503 if warmup.state is WarmupState.ERROR else 200
        await _respond(send, status, json.dumps(body).encode(), "application/json")

    async def _translate(self, scope: dict, receive, send, serve=None) -> None:
        """The unified page route; with `serve`, one of the split routes behind the same guard."""
        started = time.perf_counter()
        request_id = _header(scope, "x-request-id").decode("ascii", "replace")[:64] or uuid.uuid4().hex[:12]
        self._authorise(scope)
        version = _header(scope, Header.CONTRACT_VERSION.value).decode("ascii", "replace")
        if version and version != contract.CONTRACT_VERSION:
            raise ContractError(
                ErrorCode.CONTRACT_MISMATCH, f"client speaks contract {version}, service {contract.CONTRACT_VERSION}"
            )
        declared = _header(scope, "content-length")
        if declared.isdigit() and int(declared) > self.config.max_body_bytes:
            raise ContractError(ErrorCode.TOO_LARGE, f"the body is over {self.config.max_body_bytes} bytes")
        if self.in_flight >= self.config.concurrency:
            self.metrics.add("compute_busy_rejections_total")
            raise self._busy()
        self.in_flight += 1
        self.metrics.set("compute_pages_in_flight", self.in_flight)
        code = "ok"
        try:
            body = await _read_body(receive, self.config.max_body_bytes, self.config.body_timeout_s)
            if serve is not None:
                served = await serve(_header(scope, "content-type").decode("latin-1"), body, started)
                content_type, payload, headers = served
                await _respond(send, 200, payload, content_type, headers)
                return
            request = contract.parse_page_request(_header(scope, "content-type").decode("latin-1"), body)
            loop = asyncio.get_running_loop()
            done: PageDone = await loop.run_in_executor(self.executor, self._run_page, request)
            meta = _meta(done, started)
            content_type, payload = contract.encode_page_response(done.image, done.image_format, done.report)
            await _respond(send, 200, payload, content_type, meta.to_headers())
        except ContractError as error:
            code = error.code
            error_meta = PageMeta(failure_stage=error.stage, remote_elapsed_ms=_ms_since(started))
            await _error(send, error, error_meta.to_headers(), close=True)
        except ClientGone:
            code = "client_gone"
        except Exception as exc:
            code = ErrorCode.INTERNAL.value
            logger.exception("page failed with a bug id=%s", request_id)
            await _error(send, ContractError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}"))
        finally:
            self.in_flight -= 1
            elapsed = time.perf_counter() - started
            self.metrics.set("compute_pages_in_flight", self.in_flight)
            self.metrics.add("compute_requests_total", code=code)
            self.metrics.add("compute_page_seconds_sum", elapsed)
            self.metrics.add("compute_page_seconds_count")
            if code == "ok":
                self.recent_seconds.append(elapsed)
            logger.info("page id=%s code=%s elapsed_ms=%d", request_id, code, elapsed * 1000)

    def _busy(self) -> ContractError:
        typical = statistics.median(self.recent_seconds) if self.recent_seconds else DEFAULT_RETRY_AFTER_S
        error = ContractError(ErrorCode.BUSY, f"all {self.config.concurrency} page slots are taken")
        error.retry_after = max(1, math.ceil(typical))
        return error

    def _run_page(self, request: PageRequest) -> PageDone:
        """Worker thread: wait for the models, check the image, run the pipeline."""
        _check_image(request.image, self.config.max_image_pixels)
        cold_start = not self.warmup.done
        self.warmup.wait()
        if self.warmup.pipeline is None:
            raise ContractError(ErrorCode.NOT_READY, f"the models did not load: {self.warmup.reason}")
        from translations.pipeline.contracts import PipelineError

        try:
            translator = _translator(request)
            outcome = self.warmup.pipeline.run(
                request.image,
                translator=translator,
                source_language=request.source_language,
                target_language=request.target_language,
                context_translations=request.context_translations,
            )
        except PipelineError as exc:
            # The pre-check read the header; a load failure now is a body that does not decode.
            code = ErrorCode.CORRUPT_IMAGE if exc.stage == "load" else ErrorCode.PIPELINE_FAILED
            raise ContractError(code, str(exc), stage=exc.stage) from None
        return PageDone(outcome.image, outcome.format, outcome.report, cold_start)


def _translator(request: PageRequest):
    from translations.pipeline.factory import get_translator

    gemini = None
    if request.translator.startswith("gemini"):
        from compute_service.config import gemini_values
        from translations.pipeline.translators.gemini_config import GeminiConfig

        overrides = {"model": request.primary_model, "fallback_model": request.fallback_model}
        gemini = GeminiConfig.from_values(gemini_values(os.environ), **{k: v for k, v in overrides.items() if v})
    llm = None
    if request.translator == "openai_compat":
        from compute_service.config import llm_values
        from translations.pipeline.translators.openai_config import LLMConfig

        overrides = {"model": request.primary_model, "fallback_model": request.fallback_model}
        llm = LLMConfig.from_values(llm_values(os.environ), **{k: v for k, v in overrides.items() if v})
    return get_translator(request.translator, gemini=gemini, llm=llm)


def _check_image(data: bytes, max_pixels: int) -> None:
    """Refuse what is not an image, or too many pixels, from the header alone (nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ContractError(
            ErrorCode.CORRUPT_IMAGE, f"the data is not a readable image ({exc})", stage="load"
        ) from None
    except Image.DecompressionBombError:
        raise ContractError(ErrorCode.TOO_MANY_PIXELS, "the image declares too many pixels", stage="load") from None
    if width * height > max_pixels:
        raise ContractError(
            ErrorCode.TOO_MANY_PIXELS, f"{width}x{height} is over the limit of {max_pixels} pixels", stage="load"
        )


def _meta(done: PageDone, started: float) -> PageMeta:
    report = done.report
    return PageMeta(
        regions_count=len(report.regions),
        fallback_used=report.fallback_used,
        stage_elapsed_ms=dict(report.timings_ms),
        remote_elapsed_ms=_ms_since(started),
        cold_start=done.cold_start,
        model_primary=report.primary_model,
        model_fallback=report.fallback_model,
        model_selected=report.selected_model,
    )


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _header(scope: dict, name: str) -> bytes:
    wanted = name.encode()
    return next((value for key, value in scope["headers"] if key.lower() == wanted), b"")


async def _read_body(receive, limit: int, timeout_s: float) -> bytes:
    chunks, size = [], 0
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise ContractError(ErrorCode.BODY_TIMEOUT, f"the body did not arrive within {timeout_s:g} s") from None
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ContractError(ErrorCode.TOO_LARGE, f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _error(send, error: ContractError, headers: Sequence[tuple[str, str]] = (), *, close: bool = False) -> None:
    extra = list(headers) or [(Header.CONTRACT_VERSION.value, contract.CONTRACT_VERSION)]
    if close:
        extra.append(("connection", "close"))
    if error.retry_after is not None:
        extra.append((Header.RETRY_AFTER.value, str(int(error.retry_after))))
    if error.stage and not headers:
        extra.append((Header.FAILURE_STAGE.value, contract.encode_header_value(error.stage)))
    await _respond(send, error.status, error.to_body(), "application/json", extra)


async def _respond(send, status: int, body: bytes, content_type: str, headers=()) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
