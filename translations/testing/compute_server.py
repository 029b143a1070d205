"""A local stand-in for the compute service on loopback, speaking compute_service/contract.py, with scripted answers.

    with ComputeStub(token="t", script={"002.png": ["503", "503"]}) as stub:
        ... MANGA_CLOUDRUN_EXEC_URL=stub.url ...

Steps are consumed per page (the multipart image filename, e.g. `002.png`) in order; once a
page's steps run out every request for it gets `default` (normally `ok`):

    ok          the page with its colours inverted, one translated region (the context it got, counted)
    no_text     the page unchanged and no region (the pipeline found no text)
    same        the page unchanged but one translated region (a fallback copy: must fail)
    slow:S      wait S seconds, then ok (client timeouts, killing a worker mid-page)
    cold:S      wait S seconds, then ok with `x-cold-start: true` (a fresh instance's first request)
    503, 500, 408  that status with the contract's JSON error
    429[:S]     busy, with `Retry-After: S` when S is given
    401         unauthorized (as for a wrong token)
    422         pipeline_failed at stage `detect`
    failed:S    a 200 page whose `x-failure-stage` header says stage S failed (must not count as a page)
    bad_report  a 200 whose report part is not JSON (a broken service: retryable)

A request without the stub's token always gets 401. Every request is kept in `requests`.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageOps

from compute_service import contract
from translations.pipeline.report import PageReport, RegionReport

STATUS_ERRORS = {
    401: contract.ErrorCode.UNAUTHORIZED,
    408: contract.ErrorCode.INTERNAL,
    422: contract.ErrorCode.PIPELINE_FAILED,
    429: contract.ErrorCode.BUSY,
    500: contract.ErrorCode.INTERNAL,
    503: contract.ErrorCode.NOT_READY,
}


@dataclass(frozen=True)
class StubRequest:
    page: str  # the image filename
    token: str
    step: str
    request: contract.PageRequest | None


class ComputeStub:
    def __init__(self, *, token: str, script: dict[str, list[str]] | None = None, default: str = "ok"):
        self.token = token
        self.script = {name: list(steps) for name, steps in (script or {}).items()}
        self.default = default
        self.requests: list[StubRequest] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # A client that timed out has gone when a slow answer is written: not worth a traceback.
        self.server.handle_error = lambda request, address: None  # type: ignore[assignment, method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, name="compute-stub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ComputeStub:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests_for(self, page: str) -> list[StubRequest]:
        with self.lock:
            return [r for r in self.requests if r.page == page]

    def _next_step(self, page: str) -> str:
        with self.lock:
            steps = self.script.get(page)
            return steps.pop(0) if steps else self.default

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                token = self.headers.get(contract.Header.TOKEN.value, "")
                try:
                    request = contract.parse_page_request(self.headers.get("content-type", ""), body)
                except contract.ContractError as exc:
                    stub.requests.append(StubRequest("", token, "bad_request", None))
                    self._error(exc.status, exc.code, exc.message, exc.stage)
                    return
                if token != stub.token:
                    stub.requests.append(StubRequest(request.image_filename, token, "401", request))
                    self._error(401, contract.ErrorCode.UNAUTHORIZED, "wrong or missing X-Internal-Token")
                    return
                step = stub._next_step(request.image_filename)
                with stub.lock:
                    stub.requests.append(StubRequest(request.image_filename, token, step, request))
                name, _, argument = step.partition(":")
                cold = name == "cold"
                if name in ("slow", "cold"):
                    time.sleep(float(argument))
                    name = "ok"
                if name in ("ok", "same", "no_text", "bad_report"):
                    self._page(request, name, cold_start=cold)
                    return
                if name == "failed":
                    self._page(request, "ok", failure_stage=argument)
                    return
                status = int(name)
                headers = {contract.Header.RETRY_AFTER.value: argument} if argument else {}
                stage = "detect" if status == 422 else None
                self._error(status, STATUS_ERRORS[status], f"scripted {status}", stage, headers)

            def _page(
                self,
                request: contract.PageRequest,
                kind: str,
                *,
                cold_start: bool = False,
                failure_stage: str | None = None,
            ) -> None:
                with Image.open(io.BytesIO(request.image)) as image:
                    fmt = image.format if image.format in contract.IMAGE_TYPES else "PNG"
                    size = image.size
                    if kind == "ok":
                        out = io.BytesIO()
                        ImageOps.invert(image.convert("RGB")).save(out, format=fmt)
                        data = out.getvalue()
                    else:
                        data = request.image
                regions = []
                if kind != "no_text":
                    regions.append(
                        RegionReport(
                            id=1,
                            box=[0, 0, size[0], size[1]],
                            source_text="原文",
                            translation=f"{request.image_filename} after {len(request.context_translations)} pages",
                            flags=[],
                            font_size=12,
                        )
                    )
                report = PageReport(
                    width=size[0],
                    height=size[1],
                    source_language=request.source_language,
                    target_language=request.target_language,
                    translator=request.translator,
                    mode="cleaning" if request.translator == "none" else "translate",
                    regions=regions,
                    timings_ms={"detect": 1, "ocr": 1},
                    models={"detector": "stub"},
                )
                content_type, body = contract.encode_page_response(data, fmt, report)
                if kind == "bad_report":
                    body = body.replace(b'{"width"', b'{"width" oops', 1)
                meta = contract.PageMeta(
                    regions_count=len(regions),
                    stage_elapsed_ms={"detect": 1},
                    remote_elapsed_ms=2,
                    cold_start=cold_start,
                    failure_stage=failure_stage,
                    model_primary=request.primary_model,
                    model_fallback=request.fallback_model,
                )
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                for header, value in meta.to_headers():
                    self.send_header(header, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status, code, message, stage=None, headers=None) -> None:
                body = contract.ContractError(code, message, status=status, stage=stage).to_body()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for header, value in (headers or {}).items():
                    self.send_header(header, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
