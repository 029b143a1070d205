"""The one chokepoint to an OpenAI-compatible server: a Chat Completions call with bounded, jittered backoff.

`requests`, not the `openai` SDK: the call is one JSON POST, `requests` is already a dependency (the compute image
stays as it is), our retry policy is the only one (the SDK adds its own), and the error bodies of the many servers
that speak the protocol (Ollama, llama.cpp, vLLM, LM Studio, OpenRouter, DeepSeek) differ enough that we read them
ourselves either way. Every request goes through `chat_send`.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from translations.pipeline.translators.openai_config import LLMConfig

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
REFUSAL_FINISH = frozenset({"content_filter", "safety", "refusal"})


class ModelNotFound(Exception):
    """404: the server has no such model (not pulled, retired, misspelt); the fallback model may."""


class LLMUnavailable(Exception):
    """429 / 5xx / timeouts until the attempts ran out, or a Retry-After longer than we wait."""


class LLMRequestError(Exception):
    """A 4xx another attempt will not change; `status` and the server's message let the caller adapt the request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


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
class ChatReply:
    text: str | None  # what the model wrote; None when it refused or wrote nothing
    refusal: str | None  # why there is no text: the refusal, a finish reason, or "empty answer"


@functools.cache
def _session() -> requests.Session:
    return requests.Session()


def chat_send(url: str, *, headers: dict[str, str], body: bytes, timeout: float) -> requests.Response:
    """The one place a request leaves for the LLM server."""
    connect = min(10.0, timeout)
    return _session().post(url, data=body, headers=headers, timeout=(connect, timeout), allow_redirects=False)


class ChatClient:
    """Sends one chat completion per call; `sleep` and `random` are injectable so tests stay fast."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.random = random

    def complete(
        self, model: str, *, messages: list[dict], response_format: dict | None, records: list[RequestRecord]
    ) -> ChatReply:
        """Every attempt is appended to `records`, failed ones included (they can be billed, and they cost time)."""
        payload: dict = {"model": model, "messages": messages, "stream": False, "temperature": 0.2}
        if response_format is not None:
            payload["response_format"] = response_format
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        url = f"{self.config.base_url}/chat/completions"
        reason = ""
        for attempt in range(1, self.config.max_attempts + 1):
            started = time.perf_counter()
            wait: float | None = None
            try:
                response = chat_send(url, headers=headers, body=body, timeout=self.config.timeout_s)
            except requests.Timeout:
                records.append(RequestRecord(model, 0, _ms_since(started)))
                reason = f"timeout after {self.config.timeout_s:g} s"
            except requests.ConnectionError as exc:
                records.append(RequestRecord(model, 0, _ms_since(started)))
                reason = f"connection error ({type(exc).__name__})"
            else:
                status = response.status_code
                data = _json_body(response)
                if status == 200 and isinstance(data, dict) and isinstance(data.get("choices"), list):
                    records.append(_record(model, data, started))
                    return _reply(data)
                records.append(RequestRecord(model, status, _ms_since(started)))
                message = _error_message(data, response)
                if status == 404:
                    raise ModelNotFound(f"{model}: 404 {message}")
                if status == 200:
                    reason = "unparseable response body"
                elif status in RETRYABLE_STATUS:
                    reason, wait = f"{status} {message}", retry_after(response.headers.get("Retry-After"))
                else:
                    raise LLMRequestError(status, message)
            logger.warning("llm request failed model=%s attempt=%d reason=%s", model, attempt, reason)
            if attempt == self.config.max_attempts:
                break
            if wait is not None and wait > self.config.retry_after_max_s:
                reason += f" (Retry-After {wait:g} s is longer than we wait)"
                break
            self.sleep(wait if wait is not None else self._backoff(attempt))
        raise LLMUnavailable(f"{model}: {reason} after {attempt} attempt(s)")

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with equal jitter: half fixed, half random, so clients spread out."""
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return delay / 2 + self.random() * delay / 2


def retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _json_body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(data: object, response: requests.Response) -> str:
    """OpenAI's `{"error": {"message": …}}`, Ollama's and llama.cpp's variants, or the start of the raw body."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return (response.text or response.reason or "").strip()[:200]


def _record(model: str, data: dict, started: float) -> RequestRecord:
    usage = _dict(data.get("usage"))
    details = _dict(usage.get("completion_tokens_details"))
    return RequestRecord(
        model=model,
        status=200,
        latency_ms=_ms_since(started),
        prompt_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        thinking_tokens=_int(details.get("reasoning_tokens")),
    )


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _reply(data: dict) -> ChatReply:
    choices = data["choices"]
    if not choices or not isinstance(choices[0], dict):
        return ChatReply(None, "no choice")
    choice = choices[0]
    message = _dict(choice.get("message"))
    if message.get("refusal"):
        return ChatReply(None, f"refusal: {str(message['refusal'])[:120]}")
    finish = str(choice.get("finish_reason") or "")
    if finish in REFUSAL_FINISH:
        return ChatReply(None, finish)
    content = message.get("content")
    if isinstance(content, list):  # some servers answer in content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str) or not content.strip():
        return ChatReply(None, f"empty answer ({finish or 'no finish reason'})")
    return ChatReply(content, None)
