"""The wire contract between the web side's CloudRunExecutor and the compute service, versioned, in one module.

Request: `POST TRANSLATE_PATH`, multipart/form-data (`PageRequest.to_multipart()`), headers from
`request_headers(token)`. Success: 200, `multipart/mixed` with two parts, the page report as JSON
(`name="report"`) then the image bytes (`name="image"`), plus the ASCII `Header` values that a
client can log without decoding the body. Failure: a JSON body `{"error", "message", "stage"}`
whose `error` is an `ErrorCode`; `is_retryable(status)` is the one retry rule (DESIGN §6).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum
from urllib.parse import quote, unquote

from compute_service.multipart import MultipartError, media_type, param, split_multipart
from translations.pipeline.languages import SOURCE_LANGUAGES, TARGET_LANGUAGES
from translations.pipeline.report import PageReport
from translations.pipeline.translators import TRANSLATORS

# Bump on any change a deployed peer would misread; the service refuses a request that names another.
CONTRACT_VERSION = "1"

TRANSLATE_PATH = "/internal/translate/page"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

# TRANSLATORS, SOURCE_LANGUAGES and TARGET_LANGUAGES are the pipeline's lists (imported above).
MIN_TOKEN_CHARS = 16  # X-Internal-Token: the service refuses to start with a shorter one, the web side too
MAX_CONTEXT_TRANSLATIONS = 3
MAX_CONTEXT_CHARS = 20_000  # per previous page: far above a page of dialogue, far below a memory problem
MAX_NAME_CHARS = 128  # languages, translators, model names
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class Header(StrEnum):
    TOKEN = "x-internal-token"  # noqa: S105 - a header name, not a secret
    CONTRACT_VERSION = "x-contract-version"
    REGIONS_COUNT = "x-regions-count"
    FALLBACK_USED = "x-fallback-used"  # the translator fell back to its fallback model
    FAILURE_STAGE = "x-failure-stage"  # absent on success
    STAGE_ELAPSED_MS = "x-stage-elapsed-ms"  # JSON object, stage → ms
    REMOTE_ELAPSED_MS = "x-remote-elapsed-ms"  # request received → response ready, in the service
    COLD_START = "x-cold-start"  # this request waited for the models to load in a fresh process
    MODEL_PRIMARY = "x-model-primary"
    MODEL_FALLBACK = "x-model-fallback"
    MODEL_SELECTED = "x-model-selected"
    RETRY_AFTER = "retry-after"


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"  # malformed multipart, a missing or invalid field
    CONTRACT_MISMATCH = "contract_mismatch"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_LARGE = "too_large"  # the request body
    BODY_TIMEOUT = "body_timeout"  # the declared body did not arrive in time
    TOO_MANY_PIXELS = "too_many_pixels"  # the decoded page (decompression-bomb guard)
    CORRUPT_IMAGE = "corrupt_image"
    UNKNOWN_TRANSLATOR = "unknown_translator"
    UNKNOWN_LANGUAGE = "unknown_language"
    PIPELINE_FAILED = "pipeline_failed"  # a PipelineError: the same page would fail the same way
    BUSY = "busy"  # every slot taken; Retry-After says when to come back
    INTERNAL = "internal_error"  # a bug or a crash in the service
    NOT_READY = "not_ready"  # the models could not be loaded (healthz says why)


ERROR_STATUS: dict[str, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.CONTRACT_MISMATCH: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.BODY_TIMEOUT: 408,
    ErrorCode.TOO_MANY_PIXELS: 413,
    ErrorCode.CORRUPT_IMAGE: 400,
    ErrorCode.UNKNOWN_TRANSLATOR: 400,
    ErrorCode.UNKNOWN_LANGUAGE: 400,
    ErrorCode.PIPELINE_FAILED: 422,
    ErrorCode.BUSY: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.NOT_READY: 503,
}


def is_retryable(status: int) -> bool:
    """DESIGN §6: 408, 429 and 5xx are worth another try (as are timeouts and connection errors)."""
    return status in (408, 429) or status >= 500


class ContractError(Exception):
    """A request or response that breaks the contract, or an error the service answered with."""

    def __init__(self, code: str, message: str, status: int | None = None, stage: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.status = status if status is not None else ERROR_STATUS.get(self.code, 500)
        self.stage = stage
        self.retry_after: float | None = None  # seconds, from a 429's or 503's Retry-After

    @property
    def retryable(self) -> bool:
        return is_retryable(self.status)

    def to_body(self) -> bytes:
        return json.dumps({"error": self.code, "message": self.message, "stage": self.stage}).encode()

    def __repr__(self) -> str:
        return f"ContractError({self.code!r}, {self.message!r}, status={self.status}, stage={self.stage!r})"


def encode_header_value(text: str) -> str:
    """Printable ASCII stays as it is; everything else (and `%`) becomes UTF-8 percent-escapes."""
    return "".join(ch if " " <= ch <= "~" and ch != "%" else quote(ch, safe="") for ch in text)


def decode_header_value(value: str) -> str:
    return unquote(value, errors="strict")


def request_headers(token: str) -> dict[str, str]:
    return {Header.TOKEN.value: token, Header.CONTRACT_VERSION.value: CONTRACT_VERSION}


@dataclass(frozen=True)
class PageRequest:
    image: bytes = field(repr=False)
    source_language: str
    target_language: str
    translator: str
    context_translations: tuple[str, ...] = ()  # previous pages' translations, oldest first
    primary_model: str | None = None
    fallback_model: str | None = None
    image_filename: str = "page"

    def validate(self) -> None:
        """Raise ContractError for anything the service would refuse before reading the image."""
        if not self.image:
            raise ContractError(ErrorCode.CORRUPT_IMAGE, "the image is empty", stage="load")
        if self.source_language not in SOURCE_LANGUAGES:
            raise ContractError(
                ErrorCode.UNKNOWN_LANGUAGE,
                f"unknown source language {self.source_language!r}; use one of {', '.join(SOURCE_LANGUAGES)}",
            )
        if self.target_language not in TARGET_LANGUAGES:
            raise ContractError(
                ErrorCode.UNKNOWN_LANGUAGE,
                f"unknown target language {self.target_language!r}; use one of {', '.join(TARGET_LANGUAGES)}",
            )
        if self.translator not in TRANSLATORS:
            raise ContractError(
                ErrorCode.UNKNOWN_TRANSLATOR,
                f"unknown translator {self.translator!r}; use one of {', '.join(TRANSLATORS)}",
            )
        if len(self.context_translations) > MAX_CONTEXT_TRANSLATIONS:
            raise ContractError(
                ErrorCode.BAD_REQUEST, f"context_translations has more than {MAX_CONTEXT_TRANSLATIONS} pages"
            )
        if any(not isinstance(text, str) or len(text) > MAX_CONTEXT_CHARS for text in self.context_translations):
            raise ContractError(
                ErrorCode.BAD_REQUEST, f"context_translations must be strings of at most {MAX_CONTEXT_CHARS} chars"
            )
        for name in ("primary_model", "fallback_model"):
            value = getattr(self, name)
            if value is not None and (len(value) > MAX_NAME_CHARS or not value.isprintable()):
                raise ContractError(ErrorCode.BAD_REQUEST, f"{name} must be printable and ≤ {MAX_NAME_CHARS} chars")

    def to_multipart(self) -> dict:
        """`requests.post(url, headers=request_headers(token), timeout=..., **page_request.to_multipart())`."""
        data = {
            "source_language": self.source_language,
            "target_language": self.target_language,
            "translator": self.translator,
            "context_translations": json.dumps(list(self.context_translations), ensure_ascii=False),
        }
        if self.primary_model:
            data["primary_model"] = self.primary_model
        if self.fallback_model:
            data["fallback_model"] = self.fallback_model
        return {"files": {"image": (self.image_filename, self.image, "application/octet-stream")}, "data": data}


def parse_page_request(content_type: str, body: bytes) -> PageRequest:
    """The service's side of `to_multipart`: a validated PageRequest, or ContractError."""
    if media_type(content_type) != "multipart/form-data":
        raise ContractError(ErrorCode.BAD_REQUEST, "the request must be multipart/form-data")
    fields: dict[str, tuple[Message, bytes]] = {}
    for headers, content in _parts(content_type, body, ErrorCode.BAD_REQUEST, 400):
        if isinstance(headers.get_param("name", header="content-disposition"), tuple):
            # RFC 7578 §4.2: field names are plain `name=` parameters; the RFC 2231 form is not allowed.
            raise ContractError(ErrorCode.BAD_REQUEST, "a multipart part is named with name*=; use name=")
        name = param(headers, "content-disposition", "name")
        if not name:
            raise ContractError(ErrorCode.BAD_REQUEST, "a multipart part has no name")
        if name in fields:
            raise ContractError(ErrorCode.BAD_REQUEST, f"field {name!r} appears twice")
        fields[name] = (headers, content)
    if "image" not in fields:
        raise ContractError(ErrorCode.BAD_REQUEST, "missing field 'image'")

    def optional(name: str) -> str | None:
        if name not in fields:
            return None
        try:
            return fields[name][1].decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ContractError(ErrorCode.BAD_REQUEST, f"field {name!r} is not UTF-8") from None

    def text(name: str) -> str:
        value = optional(name)
        if value is None:
            raise ContractError(ErrorCode.BAD_REQUEST, f"missing field {name!r}")
        return value

    request = PageRequest(
        image=fields["image"][1],
        source_language=text("source_language"),
        target_language=text("target_language"),
        translator=text("translator"),
        context_translations=_context(optional("context_translations")),
        primary_model=optional("primary_model") or None,
        fallback_model=optional("fallback_model") or None,
        image_filename=param(fields["image"][0], "content-disposition", "filename") or "page",
    )
    request.validate()
    return request


def _context(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        raise ContractError(ErrorCode.BAD_REQUEST, "context_translations is not JSON") from None
    except RecursionError:  # nesting deeper than the parser's stack: no list of strings looks like that
        raise ContractError(ErrorCode.BAD_REQUEST, "context_translations is nested too deeply") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ContractError(ErrorCode.BAD_REQUEST, "context_translations must be a JSON list of strings")
    return tuple(value)


@dataclass(frozen=True)
class PageMeta:
    """What the response headers say about the page, readable without decoding the body."""

    regions_count: int = 0
    fallback_used: bool = False
    failure_stage: str | None = None
    stage_elapsed_ms: dict[str, int] = field(default_factory=dict)
    remote_elapsed_ms: int = 0
    cold_start: bool = False
    model_primary: str | None = None
    model_fallback: str | None = None
    model_selected: str | None = None
    contract_version: str = CONTRACT_VERSION

    def to_headers(self) -> list[tuple[str, str]]:
        headers = [
            (Header.CONTRACT_VERSION, self.contract_version),
            (Header.REGIONS_COUNT, str(self.regions_count)),
            (Header.FALLBACK_USED, _flag(self.fallback_used)),
            (Header.STAGE_ELAPSED_MS, json.dumps(self.stage_elapsed_ms, separators=(",", ":"))),
            (Header.REMOTE_ELAPSED_MS, str(self.remote_elapsed_ms)),
            (Header.COLD_START, _flag(self.cold_start)),
        ]
        optional = [
            (Header.FAILURE_STAGE, self.failure_stage),
            (Header.MODEL_PRIMARY, self.model_primary),
            (Header.MODEL_FALLBACK, self.model_fallback),
            (Header.MODEL_SELECTED, self.model_selected),
        ]
        headers += [(name, value) for name, value in optional if value]
        return [(name.value, encode_header_value(value)) for name, value in headers]

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> PageMeta:
        """`headers` is case-insensitive (requests' `response.headers`); absent values take defaults."""

        def get(name: Header) -> str | None:
            value = headers.get(name.value)
            return decode_header_value(value) if value is not None else None

        try:
            return cls(
                regions_count=int(get(Header.REGIONS_COUNT) or 0),
                fallback_used=get(Header.FALLBACK_USED) == "true",
                failure_stage=get(Header.FAILURE_STAGE),
                stage_elapsed_ms=json.loads(get(Header.STAGE_ELAPSED_MS) or "{}"),
                remote_elapsed_ms=int(get(Header.REMOTE_ELAPSED_MS) or 0),
                cold_start=get(Header.COLD_START) == "true",
                model_primary=get(Header.MODEL_PRIMARY),
                model_fallback=get(Header.MODEL_FALLBACK),
                model_selected=get(Header.MODEL_SELECTED),
                contract_version=get(Header.CONTRACT_VERSION) or "",
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError(ErrorCode.INTERNAL, f"malformed response headers: {exc}", status=502) from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class PageResponse:
    image: bytes = field(repr=False)
    image_format: str  # JPEG, PNG or WEBP
    report: PageReport
    meta: PageMeta


def encode_page_response(image: bytes, image_format: str, report: PageReport) -> tuple[str, bytes]:
    """(content type, body) of a success: the report part, then the image part, in one multipart/mixed."""
    report_json = json.dumps(report.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    boundary = secrets.token_hex(16)
    while boundary.encode() in image or boundary.encode() in report_json:
        boundary = secrets.token_hex(16)  # 128 random bits: this loop practically never runs
    extension = image_format.lower().replace("jpeg", "jpg")
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/json; charset=utf-8\r\n".encode(),
            b'Content-Disposition: inline; name="report"\r\n\r\n',
            report_json,
            f"\r\n--{boundary}\r\nContent-Type: {IMAGE_TYPES[image_format]}\r\n".encode(),
            f'Content-Disposition: inline; name="image"; filename="page.{extension}"\r\n\r\n'.encode(),
            image,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return f'multipart/mixed; boundary="{boundary}"', body


def decode_page_response(status: int, headers: Mapping[str, str], body: bytes) -> PageResponse:
    """The client's side: a PageResponse for a 200, else the service's error as a ContractError."""
    if status != 200:
        raise error_from_response(status, headers, body)
    content_type = headers.get("content-type", "")
    if media_type(content_type) != "multipart/mixed":
        raise ContractError(ErrorCode.INTERNAL, f"unexpected response type {content_type!r}", status=502)
    parts = {
        param(h, "content-disposition", "name"): (h, content)
        for h, content in _parts(content_type, body, ErrorCode.INTERNAL, 502)
    }
    if set(parts) != {"report", "image"}:
        raise ContractError(ErrorCode.INTERNAL, f"response parts are {sorted(map(str, parts))}", status=502)
    image_type = parts["image"][0].get_content_type()
    formats = {mime: name for name, mime in IMAGE_TYPES.items()}
    if image_type not in formats:
        raise ContractError(ErrorCode.INTERNAL, f"unexpected image type {image_type!r}", status=502)
    try:
        report = PageReport.from_dict(json.loads(parts["report"][1]))
    except (ValueError, TypeError, KeyError) as exc:
        raise ContractError(ErrorCode.INTERNAL, f"malformed page report: {exc}", status=502) from None
    return PageResponse(
        image=parts["image"][1], image_format=formats[image_type], report=report, meta=PageMeta.from_headers(headers)
    )


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ContractError:
    """The service's JSON error, or, for a body from something in front of it, `http_<status>`."""
    try:
        payload = json.loads(body)
        error = ContractError(str(payload["error"]), str(payload["message"]), status=status, stage=payload["stage"])
    except (ValueError, TypeError, KeyError):
        error = ContractError(f"http_{status}", body[:200].decode("utf-8", "replace"), status=status)
    retry_after = headers.get(Header.RETRY_AFTER.value)
    if retry_after and retry_after.strip().isdigit():
        error.retry_after = float(retry_after)
    return error


def _parts(content_type: str, body: bytes, code: ErrorCode, status: int) -> list[tuple[Message, bytes]]:
    try:
        return split_multipart(content_type, body)
    except MultipartError as exc:
        raise ContractError(code, str(exc), status=status) from None
