"""bench/http_load.py, the load client the web benchmarks use, against a real HTTP server on loopback."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from http_load import run_load  # type: ignore[import-not-found]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]] = []

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        Handler.seen.append((self.path, self.headers.get("Cookie")))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
            return
        status = 500 if self.path == "/fail" else 200
        body = b"ok" if status == 200 else b"broken"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_fixed_rate_sends_rate_times_duration_requests_and_counts_each_failure(server):
    result = run_load([f"{server}/ok", f"{server}/fail"], rate=40, duration_s=0.5, cookies=["sessionid=abc"])

    assert result.requests == 20
    assert result.errors == 10
    assert result.error_kinds == {"http_500": 10}
    assert result.p50_ms is not None and result.p50_ms < 1000
    assert {cookie for _, cookie in Handler.seen} == {"sessionid=abc"}


def test_saturation_keeps_each_client_busy_and_reads_chunked_answers(server):
    result = run_load([f"{server}/chunked"], concurrency=3, duration_s=0.5, headers=["X-Bench: 1"])

    assert result.errors == 0
    assert result.requests == len(Handler.seen) > 3
    assert result.throughput_rps > 0


def test_an_unreachable_server_is_an_error_not_a_crash():
    result = run_load(["http://127.0.0.1:9/"], concurrency=1, duration_s=0.2, timeout_s=1)

    assert result.errors >= 1
    assert result.p50_ms is None
