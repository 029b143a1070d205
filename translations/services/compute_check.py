"""The rollout preflight (DESIGN §10, docs/operations.md "Rollout"): is it safe to switch
MANGA_TRANSLATE_EXECUTION_BACKEND to `cloudrun`?

Against the configured compute service, in order: its health (waiting out a warm-up), the ONNX
providers it runs (CUDA when a GPU is required), that it refuses a wrong token and accepts ours,
one round trip of a sample page, and the sanity of the answer's headers. Every request goes
through `executors.compute_send`; only the round trip counts in the metrics (the probes are not pages).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from compute_service import contract
from translations.executors import compute_send

SAMPLE_PAGE = Path(__file__).resolve().parents[2] / "demo" / "wikipe-tan" / "01.jpg"
CUDA = "CUDAExecutionProvider"
PROBE_TOKEN = "compute-check-wrong-token-" + "x" * 16


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Preflight:
    checks: list[Check]

    @property
    def safe(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


def compute_preflight(
    *,
    url: str,
    token: str,
    require_gpu: bool,
    translator: str = "test",
    source_language: str = "ja",
    target_language: str = "en",
    timeout: float = 120,
    warmup_wait: float = 120,
    sample: bytes | None = None,
) -> Preflight:
    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str) -> bool:
        checks.append(Check(name, ok, detail))
        return ok

    base = url.rstrip("/")
    if not add("config", url.startswith(("http://", "https://")) and len(token) >= 16, _config_detail(url, token)):
        return Preflight(checks)
    health = _health(base, timeout=min(timeout, 10.0), wait=warmup_wait)
    if isinstance(health, str):
        add("health", False, health)
        return Preflight(checks)
    add(
        "health",
        health.get("status") == "ok" and health.get("contract_version") == contract.CONTRACT_VERSION,
        f"status {health.get('status')}, contract {health.get('contract_version')} "
        f"(ours {contract.CONTRACT_VERSION})" + (f", reason: {health['reason']}" if health.get("reason") else ""),
    )
    providers = list(health.get("providers") or [])
    if require_gpu:
        add("providers", CUDA in providers, f"{', '.join(providers) or 'none'}; a GPU is required: {CUDA} must be one")
    else:
        add("providers", bool(providers), f"{', '.join(providers) or 'none'} (no GPU required)")
    wrong = _probe_auth(base, PROBE_TOKEN, timeout=timeout)
    add(
        "auth refuses a wrong token",
        wrong == 401,
        "401 as it must" if wrong == 401 else f"answered {wrong} to a wrong token: the service does not check tokens",
    )
    ours = _probe_auth(base, token, timeout=timeout)
    if not add(
        "auth accepts our token",
        ours == 200,
        "200" if ours == 200 else f"answered {ours}: MANGA_INTERNAL_API_TOKEN is not one the service accepts",
    ):
        return Preflight(checks)
    for check in _round_trip(
        base,
        token,
        sample if sample is not None else SAMPLE_PAGE.read_bytes(),
        translator=translator,
        source_language=source_language,
        target_language=target_language,
        timeout=timeout,
    ):
        checks.append(check)
    return Preflight(checks)


def _config_detail(url: str, token: str) -> str:
    problems = []
    if not url.startswith(("http://", "https://")):
        problems.append(f"MANGA_CLOUDRUN_EXEC_URL {url!r} is not an http(s) URL")
    if len(token) < 16:
        problems.append("MANGA_INTERNAL_API_TOKEN is unset or shorter than 16 characters")
    return "; ".join(problems) or f"{url}, token of {len(token)} characters"


def _send(method: str, url: str, *, timeout: float, record: bool = False, **kwargs) -> requests.Response:
    return compute_send(requests.Request(method, url, **kwargs).prepare(), timeout=timeout, record=record)


def _health(base: str, *, timeout: float, wait: float) -> dict | str:
    deadline = time.monotonic() + wait
    while True:
        try:
            response = _send("GET", base + contract.HEALTH_PATH, timeout=timeout)
        except requests.RequestException as exc:
            return f"cannot reach {base}: {type(exc).__name__}: {exc}"
        try:
            health = response.json()
        except ValueError:
            return f"{contract.HEALTH_PATH} answered {response.status_code} without JSON: not the compute service?"
        if health.get("status") != "warming_up" or time.monotonic() >= deadline:
            return health
        time.sleep(1)


def _probe_auth(base: str, token: str, *, timeout: float) -> int | str:
    try:
        response = _send("GET", base + contract.METRICS_PATH, timeout=timeout, headers=contract.request_headers(token))
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"
    return response.status_code


def _round_trip(
    base: str, token: str, image: bytes, *, translator: str, source_language: str, target_language: str, timeout: float
) -> list[Check]:
    request = contract.PageRequest(
        image=image,
        source_language=source_language,
        target_language=target_language,
        translator=translator,
        image_filename="compute-check.jpg",
    )
    started = time.perf_counter()
    try:
        response = _send(
            "POST",
            base + contract.TRANSLATE_PATH,
            timeout=timeout,
            record=True,
            headers=contract.request_headers(token),
            **request.to_multipart(),
        )
    except requests.RequestException as exc:
        return [Check("round trip", False, f"no answer within {timeout}s: {type(exc).__name__}: {exc}")]
    elapsed = time.perf_counter() - started
    try:
        answer = contract.decode_page_response(response.status_code, response.headers, response.content)
    except contract.ContractError as exc:
        return [Check("round trip", False, f"answered {exc.status} {exc.code}: {exc.message}")]
    checks = [
        Check(
            "round trip",
            answer.image != image and not answer.meta.failure_stage,
            f"{elapsed:.1f}s, {len(answer.report.regions)} regions, {answer.image_format} of {len(answer.image)} bytes"
            + (" (cold start)" if answer.meta.cold_start else "")
            + ("" if answer.image != image else "; the page came back unchanged"),
        )
    ]
    checks.append(_header_sanity(response, answer))
    return checks


def _header_sanity(response: requests.Response, answer: contract.PageResponse) -> Check:
    problems = []
    raw_headers = response.raw.headers if response.raw is not None else response.headers
    for name, value in raw_headers.items():
        if not (name.isascii() and value.isascii()):
            problems.append(f"{name} is not ASCII")
    headers = response.headers
    for header in (
        contract.Header.CONTRACT_VERSION,
        contract.Header.REGIONS_COUNT,
        contract.Header.REMOTE_ELAPSED_MS,
        contract.Header.COLD_START,
        contract.Header.STAGE_ELAPSED_MS,
    ):
        if header.value not in headers:
            problems.append(f"{header.value} is missing")
    if headers.get(contract.Header.CONTRACT_VERSION.value) not in (None, contract.CONTRACT_VERSION):
        problems.append(f"contract version {headers[contract.Header.CONTRACT_VERSION.value]}")
    if str(len(answer.report.regions)) != headers.get(contract.Header.REGIONS_COUNT.value, ""):
        problems.append("x-regions-count differs from the report")
    if not headers.get(contract.Header.REMOTE_ELAPSED_MS.value, "").isdigit():
        problems.append("x-remote-elapsed-ms is not a number")
    try:
        json.loads(headers.get(contract.Header.STAGE_ELAPSED_MS.value, "{}"))
    except ValueError:
        problems.append("x-stage-elapsed-ms is not JSON")
    return Check("headers", not problems, "; ".join(problems) or "ASCII, contract headers present and consistent")
