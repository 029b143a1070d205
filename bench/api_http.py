"""API latency through the documented serving shape (gunicorn, docs/serving.md) on loopback.

Seeds a scratch library (manga → chapters → pages, finished jobs with per-page results), starts
gunicorn on an ephemeral port, and drives list and detail endpoints with `bench/http_load.py`:
a fixed offered rate (open loop, p95) and saturation (N clients, throughput), with a staff token.
Errors must be 0. Query counts per endpoint are printed too, at the seeded size and at a quarter of
it, to show they do not grow with the rows.

    # embedded: SQLite in a temporary data dir, in-memory throttle counters
    env -u DATABASE_URL -u REDIS_URL .venv/bin/python bench/api_http.py
    # PostgreSQL + Redis: a scratch database of its own (created and emptied), a Redis db of its own
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_api_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/api_http.py
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import run_load  # type: ignore[import-not-found]  # noqa: E402
from scratch_database import fresh_postgres_database  # type: ignore[import-not-found]  # noqa: E402
from shipped_gunicorn import gunicorn_command, gunicorn_env  # type: ignore[import-not-found]  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_environment(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    unthrottled = "1000000/minute"  # the bench measures the API, not its rate limits
    env.update(
        MANGA_DATA_DIR=str(data_dir),
        SECRET_KEY=secrets.token_urlsafe(40),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        MANGA_API_THROTTLE_ANON=unthrottled,
        MANGA_API_THROTTLE_USER=unthrottled,
        MANGA_API_THROTTLE_TOKEN=unthrottled,
        DJANGO_SETTINGS_MODULE="mangasite.settings",
    )
    os.environ.update(env)
    return env


def seed(manga_count: int, chapters: int, pages: int) -> dict:
    """Rows only: the endpoints measured never open the image files."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from translations.models import Chapter, Manga, Page, PageResult, TranslationJob
    from translations.services.tokens import token_create

    call_command("migrate", verbosity=0)
    staff = get_user_model().objects.create_user("bench", is_staff=True)  # signs in by token only
    now = timezone.now()
    for m in range(manga_count):
        manga = Manga.objects.create(slug=f"manga-{m:04d}", title=f"Manga {m:04d}")
        for c in range(1, chapters + 1):
            chapter = Chapter.objects.create(manga=manga, number=c)
            rows = Page.objects.bulk_create(
                Page(
                    chapter=chapter,
                    index=i,
                    image=f"raw/{manga.slug}/{c}/{i:03d}.png",
                    width=830,
                    height=1170,
                    size_bytes=400_000,
                    sha256=f"{m:04d}{c:04d}{i:04d}".ljust(64, "0"),
                )
                for i in range(1, pages + 1)
            )
            job = TranslationJob.objects.create(
                chapter=chapter,
                target_language="en",
                translator="test",
                backend="local",
                status="success",
                pages_total=pages,
                pages_succeeded=pages,
                finished_at=now,
            )
            region = {"id": 1, "box": [1, 2, 3, 4], "source_text": "原文", "translation": "text", "flags": []}
            PageResult.objects.bulk_create(
                PageResult(
                    job=job,
                    page=page,
                    status="succeeded",
                    attempts=1,
                    output_path=f"output/{manga.slug}/{c}/{job.pk}/{page.index:03d}.png",
                    regions=[region] * 8,
                    timings={"detect": 100, "ocr": 200, "page_total": 900},
                    models_used={"detector": "bench"},
                    finished_at=now,
                )
                for page in rows
            )
    token = token_create(user=staff, name="bench").secret
    job = TranslationJob.objects.order_by("pk").last()  # type: ignore[assignment]
    return {
        "token": token,
        "manga": Manga.objects.order_by("pk").last().pk,  # type: ignore[union-attr]
        "chapter": job.chapter_id,
        "job": job.pk,
        "page": Page.objects.order_by("pk").last().pk,  # type: ignore[union-attr]
    }


def endpoints(ids: dict) -> dict[str, list[str]]:
    return {
        "list": [
            "/api/v1/manga/",
            f"/api/v1/chapters/?manga={ids['manga']}",
            f"/api/v1/pages/?chapter={ids['chapter']}",
            "/api/v1/jobs/",
        ],
        "detail": [
            f"/api/v1/manga/{ids['manga']}/",
            f"/api/v1/chapters/{ids['chapter']}/",
            f"/api/v1/pages/{ids['page']}/",
            f"/api/v1/jobs/{ids['job']}/",
        ],
    }


def query_counts(ids: dict, paths: list[str]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {ids['token']}", HTTP_HOST="127.0.0.1")
    counts = {}
    for path in paths:
        client.get(path)  # the token's once-a-minute last-use write is not the endpoint's
        with CaptureQueriesContext(connection) as context:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[path] = len(context.captured_queries)
    return counts


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    # deploy/gunicorn.conf.py as shipped, on an ephemeral port.
    process = subprocess.Popen(
        gunicorn_command(), cwd=ROOT, env={**env, **gunicorn_env(port)}, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manga", type=int, default=200, help="manga seeded (2 chapters of 20 pages each)")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mangasite-api-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        env = prepare_environment(data_dir)
        setup = "postgres+redis" if env.get("DATABASE_URL") else "embedded (sqlite)"
        if env.get("DATABASE_URL"):
            fresh_postgres_database(env["DATABASE_URL"])
        if env.get("REDIS_URL"):
            import redis

            redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the bench's own Redis db: old throttle counters

        started = time.monotonic()
        ids = seed(args.manga, chapters=2, pages=20)
        seeded = time.monotonic() - started
        print(f"setup: {setup}; seeded {args.manga} manga, {args.manga * 40} pages in {seeded:.0f} s")
        groups = endpoints(ids)
        counts = query_counts(ids, groups["list"] + groups["detail"])
        print("queries per request:", json.dumps(counts))

        port = free_port()
        server = start_gunicorn(env, port, Path(scratch) / "gunicorn.log")
        figures: dict[str, dict] = {"setup": {"name": setup}, "queries": counts}
        try:
            headers = [f"Authorization: Bearer {ids['token']}"]
            for name, paths in groups.items():
                urls = [f"http://127.0.0.1:{port}{path}" for path in paths]
                run_load(urls, rate=20, duration_s=3, headers=headers)  # warm the workers and their connections
                rate = run_load(urls, rate=args.rate, duration_s=args.duration, headers=headers)
                saturation = run_load(urls, concurrency=args.concurrency, duration_s=args.duration, headers=headers)
                print(f"{name} @ rate:        {rate.summary()}")
                print(f"{name} @ saturation:  {saturation.summary()}")
                figures[name] = {"rate": rate.__dict__, "saturation": saturation.__dict__}
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # keep-alive connections can hold the graceful stop
                server.kill()
                server.wait(timeout=10)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    failed = []
    for name in groups:
        rate, saturation = figures[name]["rate"], figures[name]["saturation"]
        if rate["errors"] or saturation["errors"] or rate["p95_ms"] is None or rate["p95_ms"] > 30:
            failed.append(name)
    print("verdict:", "ok (p95 <= 30 ms at the offered rate, 0 errors)" if not failed else f"FAILED: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
