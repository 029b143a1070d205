"""Where a page is translated (DESIGN §6): in the worker (`local`) or on the compute service (`cloudrun`).

Both take the same `PageWork` and give back the same `PageExecution` (or raise `ExecutorError`);
the job service decides success, writes the output and records the audit numbers. Every
request to the compute service goes through `compute_send`, the one chokepoint for it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import requests
from django.conf import settings

from translations.models import ExecutionBackend
from translations.pipeline.report import PageReport

logger = logging.getLogger(__name__)

StageCallback = Callable[[str], None]
# Longest Retry-After honoured; a service asking for more is treated as down for this attempt.
MAX_RETRY_AFTER_SEC = 120.0
MAX_BACKOFF_SEC = 10.0  # the longest wait of the exponential backoff (a Retry-After may ask for more)


@dataclass(frozen=True)
class PageWork:
    """One page to translate, with everything an executor needs and nothing from the database."""

    image: bytes = field(repr=False)
    image_name: str  # "007.jpg": logs and the multipart filename
    source_language: str
    target_language: str
    translator: str
    context_translations: tuple[str, ...] = ()  # previous pages' translations, oldest first, ≤ 3
    manga_slug: str = ""  # picks the manga's glossary (dict/glossaries/<slug>.json)
    learned_glossary: dict = field(default_factory=dict)  # the manga's accepted terms, in the dict/ glossary format
    correlation_id: str = ""  # job-12/page-7/try-1, in every log line of this page


@dataclass(frozen=True)
class PageExecution:
    image: bytes = field(repr=False)
    image_format: str  # JPEG, PNG or WEBP
    report: PageReport
    changed: bool | None  # something was erased or lettered; None: the compute service does not say
    fallback_used: bool = False  # the translator fell back to its fallback model
    request_bytes: int = 0
    response_bytes: int = 0
    remote_elapsed_ms: int = 0
    translate_elapsed_ms: int = 0
    transport_attempts: int = 1
    cold_start: bool = False


class ExecutorError(Exception):
    """A page that could not be translated; `stage` names where, the message says why, for staff.

    The transport numbers of the failed attempts travel along, so the audit counts them too.
    """

    def __init__(
        self,
        stage: str,
        message: str,
        *,
        code: str = "",
        request_bytes: int = 0,
        response_bytes: int = 0,
        remote_elapsed_ms: int = 0,
        translate_elapsed_ms: int = 0,
        transport_attempts: int = 1,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code
        # Retryable failures that outlasted the retry budget (the service down, or cold for long):
        # worth another try later, by the job, rather than a failed page now.
        self.transient = transient
        self.request_bytes = request_bytes
        self.response_bytes = response_bytes
        self.remote_elapsed_ms = remote_elapsed_ms
        self.translate_elapsed_ms = translate_elapsed_ms
        self.transport_attempts = transport_attempts


class TranslateExecutor(Protocol):
    name: str

    def translate_page(self, work: PageWork, *, on_stage: StageCallback) -> PageExecution: ...


@runtime_checkable
class ReadsAhead(Protocol):
    """An executor that can start on the next pages while the current one is translated (docs/read-ahead.md)."""

    read_ahead: int  # how many pages after the current one it reads ahead; 0: none

    def prefetch(self, works: Sequence[PageWork]) -> None: ...


def get_executor(backend: str) -> TranslateExecutor:
    """The executor a job's `backend` names, made once per process (after any fork: it is lazy)."""
    if backend == ExecutionBackend.LOCAL:
        return _local_executor()
    if backend == ExecutionBackend.CLOUDRUN and settings.MANGA_CLOUDRUN_SPLIT:
        return _split_executor()
    if backend == ExecutionBackend.CLOUDRUN:
        return CloudRunExecutor(
            url=settings.MANGA_CLOUDRUN_EXEC_URL,
            token=settings.MANGA_INTERNAL_API_TOKEN,
            timeout_sec=settings.MANGA_CLOUDRUN_TIMEOUT_SEC,
            retries=settings.MANGA_CLOUDRUN_EXECUTOR_RETRIES,
            backoff_ms=settings.MANGA_CLOUDRUN_BACKOFF_MS,
            retry_budget_sec=settings.MANGA_CLOUDRUN_RETRY_BUDGET_SEC,
        )
    raise ValueError(f"unknown execution backend {backend!r}")


@functools.cache
def _local_executor() -> LocalExecutor:
    return LocalExecutor(model_dir=Path(settings.MANGA_MODEL_DIR), read_ahead=settings.MANGA_READ_AHEAD_PAGES)


@functools.cache
def _split_executor() -> TranslateExecutor:
    """One per process: it holds the detections started ahead for the next pages."""
    from translations.split_executor import SplitCloudRunExecutor

    return SplitCloudRunExecutor(
        url=settings.MANGA_CLOUDRUN_EXEC_URL,
        token=settings.MANGA_INTERNAL_API_TOKEN,
        timeout_sec=settings.MANGA_CLOUDRUN_TIMEOUT_SEC,
        retries=settings.MANGA_CLOUDRUN_EXECUTOR_RETRIES,
        backoff_ms=settings.MANGA_CLOUDRUN_BACKOFF_MS,
        read_ahead=settings.MANGA_READ_AHEAD_PAGES,
    )


class LocalExecutor:
    """Runs the page pipeline in this process. Its models load on the first page, once per process.

    With `read_ahead` > 0 the job hands it the next pages (`prefetch`) and one background thread reads them
    (load → detect → OCR → group) while this page is translated, inpainted and lettered (docs/read-ahead.md).
    """

    name = "local"

    def __init__(self, *, model_dir: Path, read_ahead: int = 0) -> None:
        from translations.readahead import PageReader

        self.model_dir = model_dir
        self.read_ahead = read_ahead
        self.reader = PageReader(self._read_page, depth=read_ahead)

    def prefetch(self, works: Sequence[PageWork]) -> None:
        """Start reading these pages, the current one first; a no-op without read-ahead."""
        if self.read_ahead:
            self.reader.prefetch([(work.image, work.source_language) for work in works])

    def _read_page(self, image: bytes, source_language: str):
        from translations.pipeline.factory import shared_pipeline

        return shared_pipeline(str(self.model_dir)).read(image, source_language=source_language)

    def translate_page(self, work: PageWork, *, on_stage: StageCallback) -> PageExecution:
        # Imported here: the pipeline pulls in numpy, OpenCV and onnxruntime, which the web process never needs.
        from translations.pipeline.contracts import PipelineError
        from translations.pipeline.factory import get_translator, shared_pipeline
        from translations.pipeline.languages import check_languages
        from translations.pipeline.registry import ModelMissing

        started = time.perf_counter()
        try:
            translator = get_translator(work.translator, **_translator_options(work))
            check_languages(work.source_language, work.target_language)
            pipeline = shared_pipeline(str(self.model_dir))
            if self.read_ahead:
                read = self.reader.take(work.image, work.source_language)
                for stage in read.timings_ms:  # the stages ran ahead; progress still shows each of them
                    on_stage(stage)
            else:
                read = pipeline.read(work.image, source_language=work.source_language, on_stage=on_stage)
            outcome = pipeline.finish(
                read,
                translator=translator,
                target_language=work.target_language,
                context_translations=work.context_translations,
                on_stage=on_stage,
            )
        except ModelMissing as exc:
            raise ExecutorError("models", str(exc), code="models_missing", translate_elapsed_ms=_ms(started)) from None
        except PipelineError as exc:
            raise ExecutorError(
                exc.stage, str(exc), code="pipeline_failed", translate_elapsed_ms=_ms(started)
            ) from None
        return PageExecution(
            image=outcome.image,
            image_format=outcome.format,
            report=outcome.report,
            changed=outcome.changed,
            fallback_used=outcome.report.fallback_used,
            translate_elapsed_ms=_ms(started),
        )


def _translator_options(work: PageWork) -> dict:
    from translations.gemini_settings import gemini_config, llm_config, manga_glossary
    from translations.pipeline.translators.dictionaries import Glossary

    glossary = manga_glossary(work.manga_slug)
    learned = Glossary.from_dict(work.learned_glossary, name=f"accepted terms of {work.manga_slug}")
    if work.translator.startswith("gemini"):
        config = gemini_config(glossary=glossary)
        return {"gemini": dataclasses.replace(config, learned=learned) if config else None}
    if work.translator == "openai_compat":
        return {"llm": llm_config(glossary=glossary, learned=learned)}
    return {}


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


# --- The compute service ---------------------------------------------------------------------


@functools.cache
def _session() -> requests.Session:
    return requests.Session()


def compute_send(
    request: requests.PreparedRequest, *, timeout: float, attempt: int = 1, record: bool = True
) -> requests.Response:
    """The one place a request leaves for the compute service (tests fake this or the server).

    Each try is recorded for the metrics (translations/services/telemetry.py), unless `record` is
    off: the preflight's probes (compute_check) are not pages.
    """
    from compute_service.contract import Header
    from translations.services.telemetry import compute_call_record

    started = time.perf_counter()
    if not record:
        return _session().send(request, timeout=(min(10.0, timeout), timeout), allow_redirects=False)
    try:
        response = _session().send(request, timeout=(min(10.0, timeout), timeout), allow_redirects=False)
    except requests.Timeout:
        compute_call_record(outcome="timeout", elapsed_ms=_ms(started), attempt=attempt)
        raise
    except requests.ConnectionError:
        compute_call_record(outcome="connection_error", elapsed_ms=_ms(started), attempt=attempt)
        raise
    compute_call_record(
        outcome="answered",
        status_code=response.status_code,
        elapsed_ms=_ms(started),
        cold_start=response.headers.get(Header.COLD_START.value) == "true",
        attempt=attempt,
    )
    return response


class CloudRunExecutor:
    """Posts the page to the compute service (compute_service/contract.py) and retries what is retryable.

    Retryable (DESIGN §6): timeouts, connection errors, 408, 429 and 5xx. They are retried while
    the next try would start within `retry_budget_sec` of the first (default 60 s: a Cloud Run cold
    start takes up to 25 s), and at least `retries` times, with exponential backoff and full
    jitter, or after the service's Retry-After when it gives one. What still fails is raised as
    `transient`, so the job tries the page again later. Other answers (401, 4xx, a pipeline
    failure) fail the page at once.
    """

    name = "cloudrun"

    def __init__(
        self, *, url: str, token: str, timeout_sec: float, retries: int, backoff_ms: int, retry_budget_sec: float = 60
    ) -> None:
        self.url = url
        self.token = token
        self.timeout_sec = timeout_sec
        self.retries = retries
        self.backoff_ms = backoff_ms
        self.retry_budget_sec = retry_budget_sec

    def translate_page(self, work: PageWork, *, on_stage: StageCallback) -> PageExecution:
        from compute_service import contract

        page_request = contract.PageRequest(
            image=work.image,
            source_language=work.source_language,
            target_language=work.target_language,
            translator=work.translator,
            context_translations=work.context_translations,
            primary_model=getattr(settings, "GEMINI_MODEL", None) or None,
            fallback_model=getattr(settings, "GEMINI_FALLBACK_MODEL", None) or None,
            image_filename=work.image_name,
        )
        try:
            page_request.validate()
        except contract.ContractError as exc:
            raise ExecutorError(exc.stage or "request", exc.message, code=exc.code, transport_attempts=0) from None
        prepared = requests.Request(
            "POST",
            self.url.rstrip("/") + contract.TRANSLATE_PATH,
            headers=contract.request_headers(self.token),
            **page_request.to_multipart(),
        ).prepare()
        body_bytes = len(prepared.body or b"")
        sent = received = remote_ms = 0
        started = time.perf_counter()
        first_try = _clock()
        on_stage("remote")
        attempt = 0
        while True:
            attempt += 1
            sent += body_bytes
            wait: float | None = None
            try:
                response = compute_send(prepared, timeout=self.timeout_sec, attempt=attempt)
            except requests.Timeout:
                error = ExecutorError("remote", f"the compute service did not answer within {self.timeout_sec}s")
                error.code, retryable = "timeout", True
            except requests.ConnectionError as exc:
                error = ExecutorError("remote", f"cannot reach the compute service: {_reason(exc)}")
                error.code, retryable = "connection_error", True
            else:
                received += len(response.content)
                try:
                    answer = contract.decode_page_response(response.status_code, response.headers, response.content)
                except contract.ContractError as exc:
                    remote_ms += _remote_ms(response.headers.get(contract.Header.REMOTE_ELAPSED_MS.value))
                    error = ExecutorError(
                        exc.stage or "remote",
                        f"the compute service answered {exc.status} {exc.code}: {exc.message}",
                        code=exc.code,
                    )
                    retryable, wait = exc.retryable, exc.retry_after
                else:
                    remote_ms += answer.meta.remote_elapsed_ms
                    if answer.meta.failure_stage:
                        raise ExecutorError(
                            answer.meta.failure_stage,
                            "the compute service reported a failure in a successful answer",
                            code="failure_stage",
                            request_bytes=sent,
                            response_bytes=received,
                            remote_elapsed_ms=remote_ms,
                            translate_elapsed_ms=_ms(started),
                            transport_attempts=attempt,
                        )
                    return PageExecution(
                        image=answer.image,
                        image_format=answer.image_format,
                        report=answer.report,
                        changed=None,  # the service does not say; the job service compares bytes
                        fallback_used=answer.meta.fallback_used,
                        request_bytes=sent,
                        response_bytes=received,
                        remote_elapsed_ms=remote_ms,
                        translate_elapsed_ms=_ms(started),
                        transport_attempts=attempt,
                        cold_start=answer.meta.cold_start,
                    )
            error.request_bytes, error.response_bytes = sent, received
            error.remote_elapsed_ms, error.transport_attempts = remote_ms, attempt
            delay = self._delay(attempt, wait)
            within_budget = _clock() + delay - first_try <= self.retry_budget_sec
            if not retryable or (attempt > self.retries and not within_budget):
                error.translate_elapsed_ms = _ms(started)
                if retryable:
                    error.transient = True
                    spent = _clock() - first_try
                    error.args = (f"{error} (after {attempt} tries in {spent:.0f}s)",)
                raise error
            logger.warning(
                "page %s: compute service try %d failed (%s), retrying in %.2fs",
                work.correlation_id,
                attempt,
                error,
                delay,
            )
            _wait(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after <= MAX_RETRY_AFTER_SEC:
            return retry_after
        # Exponential backoff with full jitter: tries from many workers do not arrive in step.
        ceiling = min(self.backoff_ms / 1000 * 2 ** (attempt - 1), MAX_BACKOFF_SEC)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


def _clock() -> float:
    return time.monotonic()


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def _remote_ms(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _reason(exc: Exception) -> str:
    # requests nests urllib3's reason several levels deep; the innermost says it best ("Connection refused").
    while exc.args and isinstance(exc.args[0], Exception):
        exc = exc.args[0]
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
