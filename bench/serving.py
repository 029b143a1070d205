"""Acceptance load test of the serving shape (docs/serving.md): /healthz, an admin change list, the job WebSocket.

    .venv/bin/python bench/serving.py                       # SQLite in a temporary data dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/serving.py                   # PostgreSQL + Redis: a scratch database
    options: --duration 30 --concurrency 50 --rate 100 --shape gunicorn|daphne|both --workers 2 --threads 4
             --targets healthz,changelist,ws --rate-targets healthz --timeout 30

Starts the shape as production runs it, with DEBUG off and collected static files: gunicorn
(gthread, `--workers` x `--threads`) for HTTP and daphne for /ws/ (`--shape daphne`: daphne for
HTTP too, the shape it replaces). Each target gets 50 concurrent clients for 30 s (saturation:
throughput, p50/p95) and a fixed offered 100 requests/s (open loop: p95), through bench/http_load.py.
On PostgreSQL a sampler counts the server's connections to the database every 0.25 s and a probe
opens a fresh connection every second, as a worker would: the largest count must stay within the
pools' bound ((gunicorn workers + daphne) x MANGA_DB_POOL_MAX_SIZE) and every probe must connect.
Exit status 1 on any error or a count over the bound. With DATABASE_URL the given database is
migrated and written to: use a scratch one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import LoadResult, run_load  # type: ignore[import-not-found]  # noqa: E402
from shipped_gunicorn import gunicorn_command, gunicorn_env  # type: ignore[import-not-found]  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ConnectionWatch:
    """Samples the database's connection count and probes that a new connection can still be opened."""

    dsn: str
    counts: list[int] = field(default_factory=list)
    probes: int = 0
    probe_failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.threads = [threading.Thread(target=self._sample, daemon=True), threading.Thread(target=self._probe)]

    def __enter__(self) -> ConnectionWatch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.25):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND application_name <> 'bench-probe'"
                ).fetchone()
                self.counts.append(int(row[0]))  # type: ignore[index]

    def _probe(self) -> None:
        import psycopg

        while not self.stop.wait(1.0):
            self.probes += 1
            try:
                with psycopg.connect(self.dsn, connect_timeout=5, application_name="bench-probe") as conn:
                    conn.execute("SELECT 1")
            except psycopg.Error as exc:
                self.probe_failures.append(str(exc).strip())


class Servers:
    def __init__(self, shape: str, env: dict[str, str], workers: int, threads: int, log_dir: Path) -> None:
        self.shape, self.env, self.log_dir = shape, dict(env), log_dir
        self.http_port, self.ws_port = free_port(), free_port()
        self.processes: list[subprocess.Popen] = []
        self.workers, self.threads = workers, threads

    def __enter__(self) -> Servers:
        daphne = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.ws_port), "mangasite.asgi:application"]
        self._start("daphne", daphne)
        if self.shape == "gunicorn":
            self.env.update(gunicorn_env(self.http_port, workers=self.workers, threads=self.threads))
            self._start("gunicorn", gunicorn_command())
        else:
            self.http_port = self.ws_port
        for port in {self.http_port, self.ws_port}:
            self._wait(port)
        return self

    def _start(self, name: str, command: list[str]) -> None:
        log = (self.log_dir / f"{self.shape}-{name}.log").open("a")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)

    def _wait(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise RuntimeError(f"nothing answered on port {port}; see {self.log_dir}")

    def __exit__(self, *exc_info) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def prepare(data_dir: Path, static_root: Path) -> tuple[dict[str, str], str, int]:
    """Migrate, collect static files, make a staff session, 40 manga and a job; the servers' environment."""
    env = {
        **os.environ,
        "MANGA_DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(static_root),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "mangasite.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from translations.models import Manga
    from translations.services.jobs import chapter_request_translation
    from translations.tests.job_helpers import make_chapter

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    username = f"bench-{time.time_ns()}"
    user = get_user_model().objects.create_superuser(username, password=secrets.token_urlsafe(16))
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    stamp = time.time_ns()
    Manga.objects.bulk_create(Manga(slug=f"bench-{stamp}-{i}", title=f"Bench manga {i}") for i in range(40))
    job = chapter_request_translation(
        chapter=make_chapter(3, slug=f"bench-ws-{stamp}"), translator="none", enqueue=False
    )
    from django.db import connections

    connections.close_all()
    if hasattr(connections["default"], "close_pool"):
        connections["default"].close_pool()  # this process's pool holds connections the servers' count must not include
    return env, f"{settings.SESSION_COOKIE_NAME}={session}", job.pk


def postgres_dsn() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--shape", choices=["gunicorn", "daphne", "both"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--targets", default="healthz,changelist,ws")
    parser.add_argument("--rate-targets", default="healthz", help="targets also driven at the fixed --rate")
    # Saturation latency is clients / throughput: on a shared 2-core machine a 60 ms admin page at 50
    # clients waits seconds; past this a request counts as an error (gunicorn's own --timeout is 60).
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds (default 30)")
    args = parser.parse_args()

    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        env, cookie, job_id = prepare(data_dir, Path(tmp) / "static")
        from django.conf import settings

        pool = settings.MANGA_DB_POOL_MAX_SIZE
        database = "postgresql" if postgres_dsn() else "sqlite"
        layer = "redis" if settings.REDIS_URL else "in-memory"
        print(f"database={database} channel layer={layer} pool max={pool} per process; {os.cpu_count()} CPUs")
        shapes = ["gunicorn", "daphne"] if args.shape == "both" else [args.shape]
        print(
            f"{'shape':9} {'target':11} {'mode':14} {'requests':>8} {'errors':>6} {'req/s':>8} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'conns':>5}"
        )
        for shape in shapes:
            with Servers(shape, env, args.workers, args.threads, Path(tmp)) as servers:
                http = f"http://127.0.0.1:{servers.http_port}"
                ws = f"ws://127.0.0.1:{servers.ws_port}"
                targets = {
                    "healthz": ([f"{http}/healthz"], []),
                    "changelist": ([f"{http}/admin/translations/manga/"], []),
                    "ws": ([f"{ws}/ws/jobs/{job_id}/"], [f"Origin: http://127.0.0.1:{servers.ws_port}"]),
                }
                processes = (args.workers if shape == "gunicorn" else 0) + 1
                bound = processes * pool
                for name in args.targets.split(","):
                    urls, headers = targets[name]
                    modes = ("concurrency", "rate") if name in args.rate_targets.split(",") else ("concurrency",)
                    for mode in modes:
                        options = {"concurrency": args.concurrency} if mode == "concurrency" else {"rate": args.rate}
                        dsn = postgres_dsn()
                        watch = ConnectionWatch(dsn) if dsn else None
                        if watch:
                            watch.__enter__()
                        try:
                            result: LoadResult = run_load(
                                urls,
                                duration_s=args.duration,
                                headers=headers,
                                cookies=[cookie],
                                timeout_s=args.timeout,
                                **options,
                            )
                        finally:
                            if watch:
                                watch.__exit__(None, None, None)
                        peak = max(watch.counts, default=0) if watch else None
                        label = f"{args.concurrency} clients" if mode == "concurrency" else f"{args.rate:g} req/s"
                        print(
                            f"{shape:9} {name:11} {label:14} {result.requests:>8} {result.errors:>6} "
                            f"{result.throughput_rps:>8.1f} {result.p50_ms or 0:>7.1f} {result.p95_ms or 0:>7.1f} "
                            f"{result.p99_ms or 0:>7.1f} {'-' if peak is None else peak:>5}",
                            flush=True,
                        )
                        if result.errors:
                            print(f"    errors: {result.error_kinds}")
                            failed = True
                        if watch and (peak > bound or watch.probe_failures):  # type: ignore[operator]
                            print(f"    connections: peak {peak} (bound {bound}); probes: {watch.probe_failures[:3]}")
                            failed = True
                if postgres_dsn():
                    print(f"    {shape}: connection bound {bound} = {processes} processes x pool {pool}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
