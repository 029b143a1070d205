"""A local stand-in for the Gemini API's generateContent endpoint on loopback: scripted answers, every request kept.

    python -m translations.testing.gemini_server --port 8765 [--script not_found,good] [--unknown-model NAME]

then point the client at it with GEMINI_API_BASE=http://127.0.0.1:8765 (docs/translators.md). Scripted steps,
one per request, in order; when the script runs out every request gets `good`:

    good            one translation per asked id (from the table, else a placeholder that is not the source)
    missing[:ID]    like good without ID (default: the last asked id)
    echo            the source text back as the "translation"
    safety          prompt blocked (promptFeedback.blockReason SAFETY, no candidate)
    safety_if_image safety when the request carries an image, good otherwise (and is not consumed by those)
    finish_safety   a candidate with finishReason SAFETY and no text
    empty           a candidate with no parts
    not_found       404 NOT_FOUND, as for an unknown or retired model
    unavailable     503 UNAVAILABLE
    rate_limited[:S] 429 RESOURCE_EXHAUSTED, with `Retry-After: S` when S is given
    retry_info:S    429 with the delay only in the body's google.rpc.RetryInfo
    slow:S          wait S seconds, then good (for client timeouts)
    malformed       200 whose answer text is truncated JSON
    malformed_body  200 whose body is not JSON at all
    terms:SRC=TGT   good, plus `new_terms` [{SRC, TGT, term}] (`;` separates several)
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATH = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
SOURCE_LINE = re.compile(r"^\[(\d+)\](?: \(image \d+\))? (.*)$", re.MULTILINE)
ASKED = re.compile(r"for each of these ids: ([\d, ]+)\.")
IMAGE_TOKENS = 258  # what the real API bills for a small image; keeps the fake's usage plausible

# The dev page translate_page's documented demo letters (wikipe-tan_p1_ja.jpg), keyed by what OCR reads.
DEMO_TABLE = {
    "港に生えてる鉄のキノコみたいな物体とか": "Like that iron mushroom in the harbor",
    "みんな知ってるけど名前は知らないものってよくあるじゃない": "You know, stuff everyone knows but nobody can name",
    "一": "!",
    "係船柱！": 'Ah, that\'s called a "bollard"!',
    "あれって船を港に係留する柱みたいなものでしょ？だから係船柱ー": (
        "It's a post for mooring ships in the harbor, right? So it's called a bollard!"
    ),
    "あれ？": "Huh?",
}


@dataclass
class RecordedRequest:
    path: str
    model: str
    api_key: str | None
    headers: dict[str, str]
    body: dict = field(repr=False)

    @property
    def parts(self) -> list[dict]:
        return [part for content in self.body.get("contents", []) for part in content.get("parts", [])]

    @property
    def text(self) -> str:
        return "\n".join(part["text"] for part in self.parts if "text" in part)

    @property
    def images(self) -> list[bytes]:
        inline = [part.get("inlineData") or part.get("inline_data") for part in self.parts]
        return [_b64(data["data"]) for data in inline if data]

    @property
    def system(self) -> str:
        parts = (self.body.get("systemInstruction") or {}).get("parts", [])
        return "\n".join(part.get("text", "") for part in parts)

    @property
    def schema(self) -> dict | None:
        return self.body.get("generationConfig", {}).get("responseJsonSchema")

    @property
    def sources(self) -> dict[int, str]:
        return {int(i): text for i, text in SOURCE_LINE.findall(self.text)}

    @property
    def asked(self) -> list[int]:
        found = ASKED.search(self.text)
        return [int(i) for i in found.group(1).split(",")] if found else list(self.sources)


class GeminiServer:
    """Start with `with GeminiServer() as server:`; `server.url` is the base URL, `server.requests` what came in."""

    def __init__(
        self,
        port: int = 0,
        *,
        table: dict[str, str] | None = None,
        unknown_models: tuple[str, ...] = (),
        api_key: str | None = None,
    ) -> None:
        self.table = DEMO_TABLE if table is None else table
        self.unknown_models = set(unknown_models)
        self.api_key = api_key  # when set, any other key gets the real API's 400 API_KEY_INVALID
        self.requests: list[RecordedRequest] = []
        self._steps: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def script(self, *steps: str) -> None:
        with self._lock:
            self._steps.extend(steps)

    def start(self) -> GeminiServer:
        # A short poll interval: `stop()` waits for the loop's next poll, and tests start one server each.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="gemini-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes `slow` handlers so shutdown does not wait for them
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def answer(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        """The scripted reply to one request: status, headers, body."""
        if self.api_key is not None and request.api_key != self.api_key:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if request.model in self.unknown_models:
            return _not_found(request)
        with self._lock:
            step = self._steps[0] if self._steps else "good"
            # `safety_if_image` waits for the next request that carries an image; text-only ones pass.
            if self._steps and not (step == "safety_if_image" and not request.images):
                self._steps.popleft()
        kind, _, arg = step.partition(":")
        if kind == "slow":
            self._stopping.wait(float(arg))
            kind = "good"
        if kind == "not_found":
            return _not_found(request)
        if kind == "unavailable":
            return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if kind in ("rate_limited", "retry_info"):
            retry_info = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{arg}s"}]
            status, headers, body = _error(
                429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.", retry_info if kind == "retry_info" else []
            )
            return status, headers | ({"Retry-After": arg} if kind == "rate_limited" and arg else {}), body
        if kind == "malformed_body":
            return 200, {"Content-Type": "text/html"}, b"<html><body>502 upstream hiccup</body></html>"
        if kind in ("safety", "safety_if_image"):
            if kind == "safety" or request.images:
                return _json(200, {"promptFeedback": {"blockReason": "SAFETY"}, **_usage(request, "")})
            kind = "good"
        if kind == "finish_safety":
            return _json(200, {"candidates": [{"finishReason": "SAFETY", "index": 0}], **_usage(request, "")})
        if kind == "empty":
            candidate = {"content": {"role": "model"}, "finishReason": "STOP", "index": 0}
            return _json(200, {"candidates": [candidate], **_usage(request, "")})
        asked = request.asked
        if kind == "missing":
            drop = int(arg) if arg else asked[-1]
            asked = [i for i in asked if i != drop]
        items = [{"id": i, "text": self._translate(request, i, echo=kind == "echo")} for i in asked]
        answer: dict = {"translations": items}
        if kind == "terms":
            pairs = [pair.partition("=") for pair in arg.split(";") if pair]
            answer["new_terms"] = [{"source": s, "target": t, "kind": "term"} for s, _, t in pairs]
        text = json.dumps(answer, ensure_ascii=False)
        if kind == "malformed":
            text = text[: max(len(text) // 2, 5)]
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
        return _json(200, {"candidates": [candidate], "modelVersion": request.model, **_usage(request, text)})

    def _translate(self, request: RecordedRequest, block_id: int, *, echo: bool) -> str:
        source = request.sources.get(block_id, "")
        if echo:
            return source
        return self.table.get(source) or f"Translated line {block_id}"

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(server: GeminiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = PATH.match(self.path.split("?")[0])
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not match:
                self._send(*_error(404, "NOT_FOUND", f"no such endpoint: {self.path}"))
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(*_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
                return
            request = RecordedRequest(
                path=self.path,
                model=match.group(2),
                api_key=self.headers.get("x-goog-api-key"),
                headers=dict(self.headers.items()),
                body=body,
            )
            server.record(request)
            try:
                reply = server.answer(request)
            except Exception as exc:  # a bug in the fake: answer like the real API's 500, keep the cause visible
                reply = _error(500, "INTERNAL", f"local Gemini server: {type(exc).__name__}: {exc}")
            self._send(*reply)

        def do_GET(self) -> None:
            # What was sent so far, for manual runs: `curl http://127.0.0.1:8765/_requests`.
            if self.path != "/_requests":
                self._send(*_error(404, "NOT_FOUND", f"no such endpoint: {self.path}"))
                return
            summary = [
                {"path": r.path, "model": r.model, "images": [len(i) for i in r.images], "text": r.text}
                for r in server.requests
            ]
            self._send(*_json(200, summary))

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests read `server.requests`; stderr noise helps nobody

    return Handler


def _b64(text: str) -> bytes:
    """The SDK sends URL-safe base64 without padding; the real API takes either alphabet."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _json(status: int, payload: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()


def _error(status: int, code: str, message: str, details: list | None = None) -> tuple[int, dict[str, str], bytes]:
    error = {"code": status, "message": message, "status": code} | ({"details": details} if details else {})
    return _json(status, {"error": error})


def _not_found(request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
    message = (
        f"models/{request.model} is not found for API version {request.path.split('/')[1]}, "
        "or is not supported for generateContent."
    )
    return _error(404, "NOT_FOUND", message)


def _usage(request: RecordedRequest, answer: str) -> dict:
    prompt = len(request.text + request.system) // 3 + IMAGE_TOKENS * len(request.images)
    output = len(answer) // 3
    return {
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
        }
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Gemini generateContent server for tests and demos (loopback).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--script", default="", help="comma-separated steps, one per request (see module doc)")
    parser.add_argument("--unknown-model", action="append", default=[], help="answer 404 for this model, always")
    parser.add_argument("--table", type=Path, help="JSON object: source text → translation (default: the demo page)")
    parser.add_argument("--api-key", help="refuse requests carrying any other key (400 API_KEY_INVALID)")
    args = parser.parse_args(argv)
    table = json.loads(args.table.read_text(encoding="utf-8")) if args.table else None
    server = GeminiServer(args.port, table=table, unknown_models=tuple(args.unknown_model), api_key=args.api_key)
    server.script(*[step for step in args.script.split(",") if step])
    print(f"local Gemini server on {server.url}: set GEMINI_API_BASE={server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
