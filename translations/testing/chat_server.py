"""A local stand-in for an OpenAI-compatible Chat Completions server on loopback: scripted answers, every request kept.

    python -m translations.testing.chat_server --port 8766 [--script not_found,good] [--unknown-model NAME] [--delay S]

then point the translator at it with MANGA_LLM_BASE_URL=http://127.0.0.1:8766/v1 (docs/translators.md). JSON only,
streaming off (a request asking for `stream: true` gets 400). Scripted steps, one per request, in order; when the
script runs out every request gets `good`:

    good             one translation per asked id (from the table, else `Translated line N`, never the source)
    missing[:ID]     like good without ID (default: the last asked id)
    echo             the source text back as the "translation"
    malformed        200 whose answer is truncated JSON
    malformed_body   200 whose body is not JSON at all
    refusal          200 with `message.refusal` and no content
    refusal_if_image refusal when the request carries an image, good otherwise (and is not consumed by those)
    content_filter   200 with finish_reason content_filter and no content
    not_found        404 model_not_found
    unavailable      503
    server_error     500
    rate_limited[:S] 429, with `Retry-After: S` when S is given
    slow:S           wait S seconds, then good (for client timeouts)
    no_schema        400 "response_format json_schema is not supported" when the request asks for a schema, else good
    no_image         400 "image input is not supported" when the request carries an image, else good
    terms:SRC=TGT    good, plus `new_terms` [{SRC, TGT, term}] (`;` separates several)
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATH = "/v1/chat/completions"
SOURCE_LINE = re.compile(r"^\[(\d+)\](?: \(image \d+\))? (.*)$", re.MULTILINE)
ASKED = re.compile(r"for each of these ids: ([\d, ]+)\.")
# Steps that only apply to some requests and wait, unconsumed, for one they apply to.
CONDITIONAL = {"refusal_if_image", "no_schema", "no_image"}


@dataclass
class ChatRequest:
    path: str
    headers: dict[str, str]
    body: dict = field(repr=False)
    received_at: float = 0.0  # time.monotonic(), for ordering checks in tests and benchmarks

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def messages(self) -> list[dict]:
        return list(self.body.get("messages") or [])

    def _parts(self, role: str) -> list[dict]:
        parts: list[dict] = []
        for message in self.messages:
            if message.get("role") != role:
                continue
            content = message.get("content")
            parts += [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        return parts

    @property
    def system(self) -> str:
        return "\n".join(part.get("text", "") for part in self._parts("system"))

    @property
    def text(self) -> str:
        return "\n\n".join(part.get("text", "") for part in self._parts("user") if part.get("type") == "text")

    @property
    def images(self) -> list[bytes]:
        urls = [part["image_url"]["url"] for part in self._parts("user") if part.get("type") == "image_url"]
        return [base64.b64decode(url.split(",", 1)[1]) for url in urls]

    @property
    def response_format(self) -> dict | None:
        return self.body.get("response_format")

    @property
    def schema(self) -> dict | None:
        fmt = self.response_format or {}
        return (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None

    @property
    def sources(self) -> dict[int, str]:
        return {int(i): text for i, text in SOURCE_LINE.findall(self.text)}

    @property
    def asked(self) -> list[int]:
        found = ASKED.search(self.text)
        return [int(i) for i in found.group(1).split(",")] if found else list(self.sources)


class ChatServer:
    """Start with `with ChatServer() as server:`; `server.url` is the base URL (ends in /v1), `server.requests`."""

    def __init__(
        self,
        port: int = 0,
        *,
        table: dict[str, str] | None = None,
        unknown_models: tuple[str, ...] = (),
        api_key: str | None = None,
        delay_s: float = 0.0,
        answer: Callable[[ChatRequest, int], str] | None = None,
    ) -> None:
        self.table = table or {}
        self.answer_for = answer  # (request, block id) → translation, for answers that depend on the whole request
        self.unknown_models = set(unknown_models)
        self.api_key = api_key  # when set, any other bearer token gets 401
        self.delay_s = delay_s  # every answer waits this long (a stand-in for a model's think time)
        self.requests: list[ChatRequest] = []
        self._steps: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def script(self, *steps: str) -> None:
        with self._lock:
            self._steps.extend(steps)

    def start(self) -> ChatServer:
        thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="chat-server", daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def answer(self, request: ChatRequest) -> tuple[int, dict[str, str], bytes]:
        if self.api_key is not None and request.authorization != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        if request.body.get("stream"):
            return _error(400, "invalid_request_error", "this server answers with JSON only (stream: false)")
        if request.model in self.unknown_models:
            return _not_found(request)
        with self._lock:
            step = self._steps[0] if self._steps else "good"
            if self._steps and not (step in CONDITIONAL and not _applies(step, request)):
                self._steps.popleft()
        if self.delay_s:
            self._stopping.wait(self.delay_s)
        kind, _, arg = step.partition(":")
        if kind == "slow":
            self._stopping.wait(float(arg))
            kind = "good"
        if kind in CONDITIONAL and not _applies(kind, request):
            kind = "good"
        if kind == "not_found":
            return _not_found(request)
        if kind == "unavailable":
            return _error(503, "server_error", "The server is overloaded. Please try again later.")
        if kind == "server_error":
            return _error(500, "server_error", "The server had an error while processing your request.")
        if kind == "rate_limited":
            status, headers, body = _error(429, "rate_limit_exceeded", "Rate limit reached for requests.")
            return status, headers | ({"Retry-After": arg} if arg else {}), body
        if kind == "no_schema":
            return _error(400, "invalid_request_error", "response_format json_schema is not supported by this model")
        if kind == "no_image":
            return _error(400, "invalid_request_error", "image input is not supported - hint: load a vision model")
        if kind == "malformed_body":
            return 200, {"Content-Type": "text/html"}, b"<html><body>502 upstream hiccup</body></html>"
        if kind == "refusal_if_image":
            kind = "refusal"
        if kind == "refusal":
            message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
            return _completion(request, message, "stop")
        if kind == "content_filter":
            return _completion(request, {"role": "assistant", "content": ""}, "content_filter")
        asked = request.asked
        if kind == "missing":
            drop = int(arg) if arg else asked[-1]
            asked = [i for i in asked if i != drop]
        items = [{"id": i, "text": self._translate(request, i, echo=kind == "echo")} for i in asked]
        answer: dict = {"translations": items, "new_terms": []}
        if kind == "terms":
            pairs = [pair.partition("=") for pair in arg.split(";") if pair]
            answer["new_terms"] = [{"source": s, "target": t, "kind": "term"} for s, _, t in pairs]
        text = json.dumps(answer, ensure_ascii=False)
        if kind == "malformed":
            text = text[: max(len(text) // 2, 5)]
        return _completion(request, {"role": "assistant", "content": text}, "stop")

    def _translate(self, request: ChatRequest, block_id: int, *, echo: bool) -> str:
        source = request.sources.get(block_id, "")
        if echo:
            return source
        if self.answer_for is not None:
            return self.answer_for(request, block_id)
        return self.table.get(source) or f"Translated line {block_id}"

    def record(self, request: ChatRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _applies(step: str, request: ChatRequest) -> bool:
    if step in ("refusal_if_image", "no_image"):
        return bool(request.images)
    if step == "no_schema":
        return request.schema is not None
    return True


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.split("?")[0] != PATH:
                self._send(*_error(404, "not_found", f"no such endpoint: {self.path}"))
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(*_error(400, "invalid_request_error", "We could not parse the JSON body of your request."))
                return
            request = ChatRequest(self.path, dict(self.headers.items()), body, time.monotonic())
            server.record(request)
            try:
                reply = server.answer(request)
            except Exception as exc:  # a bug in the fake: answer like a real server's 500, keep the cause visible
                reply = _error(500, "server_error", f"local chat server: {type(exc).__name__}: {exc}")
            self._send(*reply)

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
            pass

    return Handler


def _json(status: int, payload: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, {"error": {"message": message, "type": code, "param": None, "code": code}})


def _not_found(request: ChatRequest) -> tuple[int, dict[str, str], bytes]:
    message = f"The model `{request.model}` does not exist or you do not have access to it."
    return _error(404, "model_not_found", message)


def _completion(request: ChatRequest, message: dict, finish: str) -> tuple[int, dict[str, str], bytes]:
    prompt = (len(request.text) + len(request.system)) // 3 + 85 * len(request.images)
    output = len(message.get("content") or "") // 3
    return _json(
        200,
        {
            "id": f"chatcmpl-{len(request.text)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output},
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Chat Completions server for tests and demos (loopback).")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--script", default="", help="comma-separated steps, one per request (see module doc)")
    parser.add_argument("--unknown-model", action="append", default=[], help="answer 404 for this model, always")
    parser.add_argument("--table", type=Path, help="JSON object: source text → translation")
    parser.add_argument("--api-key", help="refuse requests carrying any other bearer token (401)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer waits")
    args = parser.parse_args(argv)
    table = json.loads(args.table.read_text(encoding="utf-8")) if args.table else None
    server = ChatServer(
        args.port, table=table, unknown_models=tuple(args.unknown_model), api_key=args.api_key, delay_s=args.delay
    )
    server.script(*[step for step in args.script.split(",") if step])
    print(f"local chat server on {server.url}: set MANGA_LLM_BASE_URL={server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
