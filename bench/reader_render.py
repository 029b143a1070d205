"""The reader site's own cost per request, without a network: median in-process time of each page over N runs.

Each request goes through the whole Django stack (middleware, session, views, templates) with
Django's test client, so this is the CPU a worker thread spends per request — the figure the
saturation throughput of `reader_pages.py` divides into the cores. Same library as there: 500
manga, a 200-chapter manga, a 30-page translated chapter, as a signed-in reader.

    .venv/bin/python bench/reader_render.py --runs 30
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_x REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/reader_render.py --runs 30     # that database is dropped and created first
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_database import fresh_postgres_database  # type: ignore[import-not-found]  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="reader-render-"))
    (scratch / "data").mkdir()
    os.environ.update(
        MANGA_DATA_DIR=str(scratch / "data"),
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="1",  # the plain static storage: no collectstatic needed in process
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="mangasite.settings",
    )
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        fresh_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from reader_pages import fill_library  # type: ignore[import-not-found]

    try:
        call_command("migrate", verbosity=0)
        urls, cookie = fill_library(scratch / "data")
        client = Client(HTTP_HOST="127.0.0.1")
        client.cookies.load(cookie)
        setup = connection.vendor
        for name, path in urls.items():
            times = []
            for run in range(args.runs + 1):
                started = time.perf_counter()
                response = client.get(path)
                body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
                assert response.status_code == 200, (path, response.status_code)
                if run:  # the first is a warm-up
                    times.append((time.perf_counter() - started) * 1000)
            print(
                f"setup={setup} {name:10s} median {statistics.median(times):6.1f} ms "
                f"(min {min(times):.1f}, max {max(times):.1f}, n={len(times)}, {len(body)} bytes)",
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
