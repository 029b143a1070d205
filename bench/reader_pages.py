"""Reader-site latency served the documented way (gunicorn, gthread workers): library, manga, reader HTML, a page image.

For each URL: the p95 at an offered 100 requests/s (open loop, latency from when a request was
due) and the saturation throughput of 50 concurrent keep-alive clients, 30 s each, as a signed-in
reader. Target (DESIGN §11): p95 ≤ 30 ms at 100 req/s, 0 errors. The library holds 500 manga, the
manga 200 chapters with two translations each, the chapter 30 translated pages on disk.

    .venv/bin/python bench/reader_pages.py                                       # embedded: SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_x .venv/bin/python bench/reader_pages.py

The PostgreSQL database named by DATABASE_URL is dropped and created empty first: give a scratch
one. Prints one line per measurement and, with --json, writes them all to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import run_load  # type: ignore[import-not-found]  # noqa: E402
from scratch_database import fresh_postgres_database  # type: ignore[import-not-found]  # noqa: E402
from shipped_gunicorn import gunicorn_command, gunicorn_env  # type: ignore[import-not-found]  # noqa: E402

DEMO = ROOT / "demo" / "wikipe-tan"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drain(base: str, limit_s: float = 120) -> None:
    """Wait until the server answers /healthz within a second again (its backlog is gone)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        result = run_load([f"{base}/healthz"], concurrency=1, duration_s=0.1, timeout_s=5)
        if not result.errors and time.monotonic() - started < 1:
            return


def fill_library(data_dir: Path) -> tuple[dict[str, str], str]:
    """The benchmark library; returns the URLs to load and a reader's session cookie."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from translations.models import Chapter, Manga, Page, PageResult, TranslationJob

    Manga.objects.bulk_create(
        Manga(slug=f"manga-{i:03d}", title=f"Manga {i:03d}", cover=f"raw/manga-{i:03d}/1/001.jpg") for i in range(499)
    )
    manga = Manga.objects.create(slug="bench", title="Bench", cover="raw/bench/1/001.jpg")
    Chapter.objects.bulk_create(Chapter(manga=manga, number=Decimal(n), title=f"Chapter {n}") for n in range(1, 201))
    chapters = list(manga.chapters.order_by("number"))
    jobs = TranslationJob.objects.bulk_create(
        TranslationJob(
            chapter=chapter, target_language=lang, translator="test", backend="local", status="success", pages_total=30
        )
        for chapter in chapters
        for lang in ("en", "fr")
    )
    raw = (DEMO / "01.jpg").read_bytes()
    out = (DEMO / "02.jpg").read_bytes()
    chapter = chapters[0]
    pages = []
    for index in range(1, 31):
        relative = f"raw/bench/1/{index:03d}.jpg"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / relative).write_bytes(raw)
        pages.append(
            Page(chapter=chapter, index=index, image=relative, width=800, height=1150, size_bytes=len(raw), sha256="0")
        )
    Page.objects.bulk_create(pages)
    job = next(j for j in jobs if j.chapter_id == chapter.pk and j.target_language == "en")
    results = []
    for page in chapter.pages.all():
        relative = f"output/bench/1/{job.pk}/{page.index:03d}.jpg"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / relative).write_bytes(out)
        results.append(PageResult(job=job, page=page, status="succeeded", attempts=1, output_path=relative))
    PageResult.objects.bulk_create(results)

    user = get_user_model().objects.create_user("bench-reader", password=secrets.token_hex(8))
    # Signed in the way Django signs in (the configured backend and session engine).
    signed_in = Client()
    signed_in.force_login(user)
    session_key = signed_in.cookies[settings.SESSION_COOKIE_NAME].value

    urls = {
        "library": "/",
        "manga": "/manga/bench/",
        "reader": "/read/bench/1/",
        "page image": f"/media/pages/{chapter.pages.get(index=1).pk}/image",
    }
    return urls, f"{settings.SESSION_COOKIE_NAME}={session_key}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per measurement (default 30)")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    # A SIGTERM still runs the `finally` below, which stops the servers this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scratch = Path(tempfile.mkdtemp(prefix="reader-bench-"))
    env = {
        **os.environ,
        "MANGA_DATA_DIR": str(scratch / "data"),
        "STATIC_ROOT": str(scratch / "static"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "mangasite.settings",
    }
    (scratch / "data").mkdir()
    os.environ.update(env)
    if env.get("DATABASE_URL", "").startswith("postgres"):
        fresh_postgres_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    urls, cookie = fill_library(scratch / "data")
    connection.close()
    setup = "postgresql" if connection.vendor == "postgresql" else "sqlite"

    port = free_port()
    log = scratch / "gunicorn.log"
    server = subprocess.Popen(
        gunicorn_command(),
        cwd=ROOT,
        env={**env, **gunicorn_env(port)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    results = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while run_load([f"{base}/healthz"], concurrency=1, duration_s=0.2).errors:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not come up")
        print(f"setup={setup} server=gunicorn -c deploy/gunicorn.conf.py duration={args.duration}s", flush=True)
        for name, path in urls.items():
            url = base + path
            run_load([url], concurrency=4, duration_s=2, cookies=[cookie])  # warm caches and connections
            # Saturation first (closed loop: it never queues more than its clients), then the offered
            # rate, then wait for a server that fell behind to drain before the next page.
            for mode, value in (("concurrency", args.concurrency), ("rate", args.rate)):
                # Only a 200 counts: a redirect to the sign-in page would be fast and wrong.
                result = run_load(
                    [url], duration_s=args.duration, cookies=[cookie], expect_status=[200], **{mode: value}
                )
                print(f"{name:10s} {result.summary()}", flush=True)
                results.append({"setup": setup, "page": name, "path": path, **asdict(result)})
                drain(base)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)
        recycled = log.read_text().count("Autorestarting worker")
        print(f"gunicorn workers recycled (max_requests) during the run: {recycled}", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
