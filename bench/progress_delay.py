"""Benchmark progress delay: event written by a worker process → received by a WebSocket client (DESIGN §11).

    .venv/bin/python bench/progress_delay.py [--events 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/progress_delay.py

This process plays the worker: it writes job events (the same `record_page_stage` the workers use)
at irregular intervals. A real daphne serves /ws/jobs/<id>/ to a `websockets` client in this
process, signed in as staff. The delay of each event is the client's receive time minus the
event's server timestamp. Targets: p95 ≤ 100 ms with Redis, ≤ 1 s embedded (polling).

Embedded setup: a fresh SQLite database in a temporary MANGA_DATA_DIR. With DATABASE_URL the
given database is migrated and written to: use a scratch one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-progress-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        from orchestration import setup_django  # type: ignore[import-not-found]

        setup_django(data_dir)
        from django.conf import settings
        from django.db import connection, transaction
        from django.test import Client
        from websockets.sync.client import connect

        from translations.progress import record_page_stage
        from translations.services.jobs import chapter_request_translation
        from translations.tests.job_helpers import make_chapter, make_staff

        setup = f"database={connection.vendor} channel layer={'redis' if settings.REDIS_URL else 'in-memory'}"
        print(f"{setup} events={args.events} poll={settings.MANGA_PROGRESS_POLL_MS} ms")
        staff = make_staff(f"bench-{time.time_ns()}")
        client = Client()
        client.force_login(staff)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        chapter = make_chapter(1, slug=f"bench-progress-{time.time_ns()}")
        job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)

        port = free_port()
        daphne = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "mangasite.asgi:application",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        delays: list[float] = []
        try:
            for _ in range(100):
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            with connect(  # type: ignore[call-overload]
                f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/",
                origin=f"http://127.0.0.1:{port}",
                additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
            ) as socket_:
                snapshot = json.loads(socket_.recv(timeout=10))
                assert snapshot["type"] == "snapshot"

                def receive() -> None:
                    while len(delays) < args.events:
                        message = json.loads(socket_.recv(timeout=30))
                        received = time.time()
                        delays.append(received - datetime.fromisoformat(message["ts"]).timestamp())

                reader = threading.Thread(target=receive)
                reader.start()
                rng = random.Random(7)
                result = job.page_results.select_related("page").get()
                for _ in range(args.events):
                    time.sleep(rng.uniform(0.005, 0.06))
                    with transaction.atomic():
                        record_page_stage(result, "bench")
                reader.join(timeout=60)
        finally:
            os.killpg(daphne.pid, signal.SIGTERM)
            daphne.wait(timeout=20)
        ms = [d * 1000 for d in delays]
        print(
            f"delay ms: p50 {statistics.median(ms):.1f}  p95 {percentile(ms, 0.95):.1f}  "
            f"max {max(ms):.1f}  (n={len(ms)})"
        )


if __name__ == "__main__":
    main()
