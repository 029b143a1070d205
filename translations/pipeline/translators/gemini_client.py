"""The one chokepoint to the Gemini API: a generateContent call with bounded, jittered backoff honouring Retry-After."""

from __future__ import annotations

import email.utils
import importlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from google import genai
from google.genai import errors, types

from translations.pipeline.translators.gemini_config import GeminiConfig

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Finish reasons that mean "refused", as opposed to an answer cut short (MAX_TOKENS → malformed JSON → repair).
REFUSAL_FINISH = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "RECITATION"})
# Without a base URL the SDK would read GOOGLE_GEMINI_BASE_URL: the key must only ever go where configured.
GOOGLE_API_BASE = "https://generativelanguage.googleapis.com/"


def _transport_errors(name: str) -> tuple[type[Exception], ...]:
    """The SDK sends through httpx or its drop-in fork httpx2, whichever is installed: catch both."""
    modules = []
    for module in ("httpx2", "httpx"):
        try:
            modules.append(importlib.import_module(module))
        except ImportError:
            continue
    return tuple(getattr(module, name) for module in modules)


TIMEOUT_ERRORS = _transport_errors("TimeoutException")
TRANSPORT_ERRORS = _transport_errors("TransportError")  # connection refused or reset, protocol errors


class ModelNotFound(Exception):
    """404: the model does not exist (or no longer serves generateContent); the fallback model may."""


class GeminiUnavailable(Exception):
    """429 / 5xx / timeouts until the attempts ran out, or a Retry-After longer than we wait."""


class GeminiRequestError(Exception):
    """A refusal that another attempt or model will not change (bad key, bad request): the page fails."""


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt, for the report's cost accounting."""

    model: str
    status: int  # HTTP status; 0 when no response came (timeout, connection error)
    latency_ms: int
    prompt_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    text: str | None  # the JSON the model wrote; None when it refused or wrote nothing
    refusal: str | None  # why there is no text: a block reason, a finish reason, or "no candidate"


class GeminiClient:
    """Sends one generateContent request per call; `sleep` and `random` are injectable so tests stay fast."""

    def __init__(
        self,
        config: GeminiConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.random = random
        self._sdk: genai.Client | None = None

    def generate(
        self, model: str, *, system: str, parts: list[types.Part], schema: dict, records: list[RequestRecord]
    ) -> Reply:
        """Every attempt is appended to `records`, failed ones included (they can be billed, and they cost time)."""
        reason = ""
        for attempt in range(1, self.config.max_attempts + 1):
            started = time.perf_counter()
            wait: float | None = None
            try:
                response = self._client().models.generate_content(
                    model=model,
                    contents=[types.Content(role="user", parts=parts)],
                    config=types.GenerateContentConfig(
                        system_instruction=system,
                        response_mime_type="application/json",
                        response_json_schema=schema,
                    ),
                )
            except errors.APIError as exc:
                records.append(RequestRecord(model, exc.code or 0, _ms_since(started)))
                if exc.code == 404:
                    raise ModelNotFound(f"{model}: 404 {exc.status or 'NOT_FOUND'}") from None
                if exc.code not in RETRYABLE_STATUS:
                    raise GeminiRequestError(f"{model}: {exc.code} {exc.status}: {exc.message}") from None
                reason, wait = f"{exc.code} {exc.status}", _retry_after(exc)
            except TIMEOUT_ERRORS:
                records.append(RequestRecord(model, 0, _ms_since(started)))
                reason = f"timeout after {self.config.timeout_s:g} s"
            except TRANSPORT_ERRORS as exc:
                records.append(RequestRecord(model, 0, _ms_since(started)))
                reason = f"connection error ({type(exc).__name__})"
            except (errors.UnknownApiResponseError, json.JSONDecodeError):
                records.append(RequestRecord(model, 200, _ms_since(started)))
                reason = "unparseable response body"
            else:
                records.append(_record(model, response, started))
                return _reply(response)
            logger.warning("gemini request failed model=%s attempt=%d reason=%s", model, attempt, reason)
            if attempt == self.config.max_attempts:
                break
            if wait is not None and wait > self.config.retry_after_max_s:
                reason += f" (Retry-After {wait:g} s is longer than we wait)"
                break
            self.sleep(wait if wait is not None else self._backoff(attempt))
        raise GeminiUnavailable(f"{model}: {reason} after {attempt} attempt(s)")

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with equal jitter: half fixed, half random, so clients spread out."""
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return delay / 2 + self.random() * delay / 2

    def _client(self) -> genai.Client:
        # Lazy: built in the worker on first use; the key goes in explicitly and only here.
        if self._sdk is None:
            self._sdk = genai.Client(
                vertexai=False,
                api_key=self.config.api_key,
                http_options=types.HttpOptions(
                    base_url=self.config.base_url or GOOGLE_API_BASE,
                    api_version=self.config.api_version,
                    timeout=int(self.config.timeout_s * 1000),
                ),
            )
        return self._sdk


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _record(model: str, response: types.GenerateContentResponse, started: float) -> RequestRecord:
    usage = response.usage_metadata
    return RequestRecord(
        model=model,
        status=200,
        latency_ms=_ms_since(started),
        prompt_tokens=(usage.prompt_token_count or 0) if usage else 0,
        output_tokens=(usage.candidates_token_count or 0) if usage else 0,
        thinking_tokens=(usage.thoughts_token_count or 0) if usage else 0,
    )


def _reply(response: types.GenerateContentResponse) -> Reply:
    if not response.candidates:
        feedback = response.prompt_feedback
        block = feedback.block_reason if feedback else None
        return Reply(None, _name(block) if block else "no candidate")
    candidate = response.candidates[0]
    finish = _name(candidate.finish_reason) if candidate.finish_reason else ""
    if finish in REFUSAL_FINISH:
        return Reply(None, finish)
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(part.text for part in parts if part.text and not part.thought)
    if not text.strip():
        return Reply(None, f"empty candidate ({finish or 'no finish reason'})")
    return Reply(text, None)


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


def _retry_after(exc: errors.APIError) -> float | None:
    """Seconds the server asked us to wait: the Retry-After header, else the body's google.rpc.RetryInfo."""
    headers = getattr(exc.response, "headers", None)
    header = headers.get("retry-after") if headers is not None else None
    if header:
        header = header.strip()
        if header.isdigit():
            return float(header)
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        return max(when.timestamp() - time.time(), 0.0)
    details = exc.details.get("error", exc.details) if isinstance(exc.details, dict) else {}
    for detail in details.get("details", []) if isinstance(details, dict) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None
