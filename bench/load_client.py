"""A minimal HTTP load client: a fixed offered rate (open loop) and N concurrent clients (saturation).

Stands in until the hardening issue's `bench/http_load.py` is on main (same `run_load` call).
Open loop: request i is due at start + i/rate whether or not earlier ones have answered, and its
latency counts from when it was due, so a stalled server shows as latency rather than as a lower
rate. Saturation: each client sends its next request as soon as the last one answered, on its own
keep-alive connection. A request is an error when it fails, times out or answers with a status
of 400 or more.
"""

from __future__ import annotations

import http.client
import queue
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

OPEN_LOOP_THREADS = 64


@dataclass(frozen=True)
class LoadResult:
    mode: str  # "rate" or "concurrency"
    offered: float
    duration_s: float
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    error_kinds: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        offered = f"{self.offered:g} req/s offered" if self.mode == "rate" else f"{self.offered:g} clients"
        return (
            f"{offered}: {self.requests} requests in {self.duration_s:.1f} s, {self.errors} errors "
            f"{dict(self.error_kinds) or ''}; throughput {self.throughput_rps:.1f} req/s; "
            f"p50 {_fmt(self.p50_ms)} p95 {_fmt(self.p95_ms)} p99 {_fmt(self.p99_ms)} max {_fmt(self.max_ms)} ms"
        )


class _Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout_s: float) -> None:
        self.host, self.port, self.headers, self.timeout_s = host, port, headers, timeout_s
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> str | None:
        """None on success, else the kind of error."""
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            response.read()
            if response.status >= 400:
                return f"http {response.status}"
            if response.getheader("connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            return None
        except (OSError, http.client.HTTPException) as exc:
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return type(exc).__name__


def run_load(
    urls: Sequence[str],
    *,
    rate: float | None = None,
    concurrency: int | None = None,
    duration_s: float = 30.0,
    cookies: Sequence[str] = (),
    timeout_s: float = 10.0,
) -> LoadResult:
    if (rate is None) == (concurrency is None):
        raise ValueError("give exactly one of rate and concurrency")
    first = urlsplit(urls[0])
    paths = [urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "") for url in urls]
    headers = {"Cookie": "; ".join(cookies)} if cookies else {}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def record(started: float, error: str | None) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if error is None:
                latencies.append(elapsed)
            else:
                errors[error] += 1

    def new_client() -> _Client:
        return _Client(first.hostname or "127.0.0.1", first.port or 80, headers, timeout_s)

    begin = time.perf_counter()
    if rate is not None:
        due: queue.SimpleQueue[tuple[float, str] | None] = queue.SimpleQueue()

        def worker() -> None:
            client = new_client()
            while (item := due.get()) is not None:
                scheduled, path = item
                record(scheduled, client.get(path))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(OPEN_LOOP_THREADS)]
        for thread in threads:
            thread.start()
        total = int(rate * duration_s)
        for i in range(total):
            scheduled = begin + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            due.put((scheduled, paths[i % len(paths)]))
        for _ in threads:
            due.put(None)
        for thread in threads:
            thread.join()
        offered, mode = rate, "rate"
    else:
        assert concurrency is not None
        stop_at = begin + duration_s

        def closed_loop(offset: int) -> None:
            client = new_client()
            i = offset
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                record(started, client.get(paths[i % len(paths)]))
                i += 1

        threads = [threading.Thread(target=closed_loop, args=(n,), daemon=True) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        offered, mode = concurrency, "concurrency"
    elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)
    return LoadResult(
        mode=mode,
        offered=offered,
        duration_s=elapsed,
        requests=len(ordered) + sum(errors.values()),
        errors=sum(errors.values()),
        throughput_rps=len(ordered) / elapsed if elapsed else 0.0,
        p50_ms=_percentile(ordered, 50),
        p95_ms=_percentile(ordered, 95),
        p99_ms=_percentile(ordered, 99),
        max_ms=ordered[-1] if ordered else None,
        error_kinds=dict(errors),
    )


def _percentile(ordered: list[float], percent: int) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[percent - 1]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
