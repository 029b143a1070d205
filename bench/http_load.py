"""A small HTTP and WebSocket load client: a fixed offered rate (open loop) or N concurrent clients (saturation).

Open loop (`--rate 100 --duration 30`): request i is due at start + i/rate whether or not earlier ones have
answered, and its latency counts from when it was due, so a stalled server shows up as latency instead of
quietly lowering the rate (no coordinated omission). Saturation (`--concurrency 50 --duration 30`): each
client sends its next request as soon as the last one answered, on its own keep-alive connection.

    python bench/http_load.py http://127.0.0.1:8000/healthz --rate 100 --duration 30
    python bench/http_load.py http://127.0.0.1:8000/admin/translations/manga/ \
        --cookie sessionid=... --concurrency 50 --duration 30
    python bench/http_load.py ws://127.0.0.1:8001/ws/jobs/1/ --cookie sessionid=... \
        --header 'Origin: http://127.0.0.1:8001' --concurrency 50 --duration 30

Several URLs are used in turn. An http(s) request counts as an error when it fails, times out or answers
with a status of 400 or more (or not one of `--expect-status`); a ws(s) request is a handshake plus the
first message, then a close. `run_load(...)` is the same as a function, for other benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

MAX_OPEN_CONNECTIONS = 2000  # open loop: a server that stops answering must not exhaust our file descriptors


@dataclass(frozen=True)
class LoadResult:
    mode: str  # "rate" or "concurrency"
    offered: float  # requests/s offered (rate mode) or concurrent clients (concurrency mode)
    duration_s: float  # from the first request to the last answer
    requests: int
    errors: int
    throughput_rps: float  # answered without error, per second
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    error_kinds: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        offered = f"{self.offered:g} req/s offered" if self.mode == "rate" else f"{self.offered:g} clients"
        kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(self.error_kinds.items()))
        return (
            f"{offered}: {self.requests} requests in {self.duration_s:.1f} s, {self.errors} errors"
            f"{' (' + kinds + ')' if kinds else ''}; throughput {self.throughput_rps:.1f} req/s; "
            f"p50 {_fmt(self.p50_ms)} p95 {_fmt(self.p95_ms)} p99 {_fmt(self.p99_ms)} max {_fmt(self.max_ms)} ms"
        )


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    request_target: str  # path?query

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s):// or ws(s):// URL")
        secure = parts.scheme in ("https", "wss")
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(url, parts.scheme, parts.hostname, port, target)

    @property
    def websocket(self) -> bool:
        return self.scheme in ("ws", "wss")

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")


class RequestFailed(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _HttpConnection:
    """One keep-alive HTTP/1.1 connection: GET requests, Content-Length or chunked answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, target: Target) -> _HttpConnection:
        context = ssl.create_default_context() if target.secure else None
        reader, writer = await asyncio.open_connection(target.host, target.port, ssl=context, limit=1 << 20)
        return cls(reader, writer)

    async def get(self, target: Target, header_block: bytes) -> tuple[int, bool]:
        """(status, keep_alive) after reading the whole answer."""
        self.writer.write(f"GET {target.request_target} HTTP/1.1\r\n".encode() + header_block)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        else:  # HTTP/1.0 style: the body ends with the connection
            await self.reader.read()
            return status, False
        keep_alive = headers.get("connection", "").lower() != "close" and lines[0].startswith("HTTP/1.1")
        return status, keep_alive

    def close(self) -> None:
        self.writer.close()


class LoadClient:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        headers: Sequence[str] = (),
        cookies: Sequence[str] = (),
        timeout_s: float = 10.0,
        expect_status: Sequence[int] = (),
    ) -> None:
        if not urls:
            raise ValueError("at least one URL is needed")
        self.targets = [Target.parse(url) for url in urls]
        self.headers: list[tuple[str, str]] = []
        for raw in headers:
            name, sep, value = raw.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"header {raw!r} is not 'Name: value'")
            self.headers.append((name.strip(), value.strip()))
        if cookies:
            self.headers.append(("Cookie", "; ".join(cookies)))
        self.timeout_s = timeout_s
        self.expect_status = set(expect_status)
        self.idle: dict[tuple[str, int], list[_HttpConnection]] = {}
        self.open_connections = 0
        self.latencies_ms: list[float] = []
        self.errors: Counter[str] = Counter()

    def _header_block(self, target: Target) -> bytes:
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        lines = [f"Host: {host}", "User-Agent: mangasite-http-load", "Accept: */*"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _ok(self, status: int) -> bool:
        return status in self.expect_status if self.expect_status else status < 400

    async def request(self, target: Target, started: float, connection: _HttpConnection | None = None):
        """One request; records its latency from `started` or its error. Returns a reusable connection."""
        try:
            async with asyncio.timeout(self.timeout_s):
                if target.websocket:
                    await self._websocket(target)
                    connection = None
                else:
                    connection = await self._http(target, connection)
        except RequestFailed as failure:
            self.errors[failure.kind] += 1
            return None
        except TimeoutError:
            self.errors["timeout"] += 1
            connection = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self.errors[type(exc).__name__] += 1
            connection = None
        else:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
        return connection

    async def _http(self, target: Target, connection: _HttpConnection | None) -> _HttpConnection | None:
        if connection is not None:
            try:
                return await self._http_once(target, connection)
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                # The server closed this keep-alive connection while it sat idle (its keep-alive timeout):
                # what browsers and HTTP libraries do is try again once on a new connection.
        return await self._http_once(target, None)

    async def _http_once(self, target: Target, connection: _HttpConnection | None) -> _HttpConnection | None:
        if connection is None:
            if self.open_connections >= MAX_OPEN_CONNECTIONS:
                raise RequestFailed("too_many_open_connections")
            self.open_connections += 1
            try:
                connection = await _HttpConnection.open(target)
            except BaseException:
                self.open_connections -= 1
                raise
        try:
            status, keep_alive = await connection.get(target, self._header_block(target))
        except BaseException:
            self._drop(connection)
            raise
        if not keep_alive:
            self._drop(connection)
            connection = None
        if not self._ok(status):
            if connection is not None:
                self._drop(connection)
            raise RequestFailed(f"http_{status}")
        return connection

    def _drop(self, connection: _HttpConnection) -> None:
        connection.close()
        self.open_connections -= 1

    async def _websocket(self, target: Target) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        try:
            async with connect(target.url, additional_headers=self.headers, open_timeout=self.timeout_s) as socket:
                await socket.recv()
        except InvalidStatus as exc:
            raise RequestFailed(f"ws_http_{exc.response.status_code}") from None
        except WebSocketException as exc:
            raise RequestFailed(f"ws_{type(exc).__name__}") from None

    async def run_rate(self, rate: float, duration_s: float) -> float:
        """Open loop: returns the wall time from the first request to the last answer."""
        total = max(1, round(rate * duration_s))
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._rate_one(self.targets[i % len(self.targets)], due)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - start

    async def _rate_one(self, target: Target, due: float) -> None:
        pool = self.idle.setdefault((target.host, target.port), [])
        connection = pool.pop() if pool and not target.websocket else None
        connection = await self.request(target, due, connection)
        if connection is not None:
            pool.append(connection)

    async def run_concurrency(self, clients: int, duration_s: float) -> float:
        start = time.perf_counter()
        deadline = start + duration_s

        async def client(number: int) -> None:
            connection = None
            i = number
            while time.perf_counter() < deadline:
                target = self.targets[i % len(self.targets)]
                connection = await self.request(target, time.perf_counter(), connection)
                i += 1
            if connection is not None:
                self._drop(connection)

        await asyncio.gather(*(client(n) for n in range(clients)))
        return time.perf_counter() - start

    def close(self) -> None:
        for pool in self.idle.values():
            for connection in pool:
                connection.close()
        self.idle.clear()

    def result(self, mode: str, offered: float, elapsed: float) -> LoadResult:
        ordered = sorted(self.latencies_ms)
        errors = sum(self.errors.values())
        return LoadResult(
            mode=mode,
            offered=offered,
            duration_s=elapsed,
            requests=len(ordered) + errors,
            errors=errors,
            throughput_rps=len(ordered) / elapsed if elapsed > 0 else 0.0,
            p50_ms=_percentile(ordered, 50),
            p95_ms=_percentile(ordered, 95),
            p99_ms=_percentile(ordered, 99),
            max_ms=ordered[-1] if ordered else None,
            error_kinds=dict(self.errors),
        )


async def run_load_async(
    urls: Sequence[str],
    *,
    rate: float | None = None,
    concurrency: int | None = None,
    duration_s: float = 30.0,
    headers: Sequence[str] = (),
    cookies: Sequence[str] = (),
    timeout_s: float = 10.0,
    expect_status: Sequence[int] = (),
) -> LoadResult:
    if (rate is None) == (concurrency is None):
        raise ValueError("give exactly one of rate and concurrency")
    client = LoadClient(urls, headers=headers, cookies=cookies, timeout_s=timeout_s, expect_status=expect_status)
    try:
        if rate is not None:
            if rate <= 0:
                raise ValueError("rate must be above 0")
            elapsed = await client.run_rate(rate, duration_s)
            return client.result("rate", rate, elapsed)
        assert concurrency is not None
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        elapsed = await client.run_concurrency(concurrency, duration_s)
        return client.result("concurrency", concurrency, elapsed)
    finally:
        client.close()


def run_load(urls: Sequence[str], **options) -> LoadResult:
    """`run_load_async` from synchronous code (its own event loop)."""
    return asyncio.run(run_load_async(urls, **options))


def _percentile(ordered: list[float], percent: float) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(percent) - 1]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+", metavar="URL")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--rate", type=float, help="open loop: requests per second offered")
    mode.add_argument("--concurrency", type=int, help="saturation: clients, each sending as soon as answered")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--cookie", action="append", default=[], help="'name=value', repeatable")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds (default 10)")
    parser.add_argument("--expect-status", type=int, action="append", default=[], help="statuses that count as ok")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    try:
        result = run_load(
            args.urls,
            rate=args.rate,
            concurrency=args.concurrency,
            duration_s=args.duration,
            headers=args.header,
            cookies=args.cookie,
            timeout_s=args.timeout,
            expect_status=args.expect_status,
        )
    except ValueError as exc:
        print(f"http_load: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(result)) if args.json else result.summary())
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
