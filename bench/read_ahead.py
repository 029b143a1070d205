"""Benchmark read-ahead in the local executor: a 10-page chapter whose translator answers after a fixed delay.

    .venv/bin/python bench/read_ahead.py [--pages 10] [--delay 3] [--runs 2]

Four modes, interleaved round by round so machine drift hits them alike, each the median over the runs:
- serial, translator delay D (today: MANGA_READ_AHEAD_PAGES=0);
- read-ahead (2 pages), delay D;
- serial and read-ahead with a zero-delay translator (the floor: what the chapter costs without waiting).

The translator is `openai_compat` against the local Chat Completions server on loopback (answers after D s);
the pipeline is the real one (real models, CPU). Target (issue #16): read-ahead's extra time over the
zero-delay translator ≤ 0.5 × pages × D (serial: the whole pages × D). One warm-up page loads the models first.
Embedded setup: a fresh SQLite database in a temporary MANGA_DATA_DIR.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "demo" / "wikipe-tan"


def setup_django(data_dir: Path) -> None:
    os.environ["MANGA_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def page_files(count: int) -> list[bytes]:
    """`count` distinct JPEG files from the two demo pages (different qualities: distinct bytes, same text)."""
    from PIL import Image

    sources = [Image.open(DEMO / name).convert("RGB") for name in ("01.jpg", "02.jpg")]
    files = []
    for index in range(count):
        buffer = io.BytesIO()
        sources[index % 2].save(buffer, format="JPEG", quality=95 - index)
        files.append(buffer.getvalue())
    return files


def make_chapter(number: int, files: list[bytes]):
    from translations.models import Chapter, Manga
    from translations.tests.library import store_page

    manga, _ = Manga.objects.get_or_create(slug="bench", defaults={"title": "Bench"})
    chapter = Chapter.objects.create(manga=manga, number=Decimal(number))
    for index, data in enumerate(files, start=1):
        store_page(chapter, index, data)
    return chapter


def run_chapter(chapter, *, read_ahead: int) -> tuple[float, str]:
    from django.conf import settings

    from translations.executors import LocalExecutor
    from translations.services.execution import job_run
    from translations.services.jobs import chapter_request_translation

    executor = LocalExecutor(model_dir=Path(settings.MANGA_MODEL_DIR), read_ahead=read_ahead)
    job = chapter_request_translation(chapter=chapter, target_language="en", translator="openai_compat", enqueue=False)
    started = time.perf_counter()
    job_run(job_id=job.pk, executor=executor, slice_seconds=10_000)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    return elapsed, f"{job.status} {job.pages_succeeded}/{job.pages_total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds the translator stand-in takes per page")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-read-ahead-") as tmp:
        setup_django(Path(tmp))
        from django.conf import settings

        from translations.testing.chat_server import ChatServer

        files = page_files(args.pages)
        modes = [("serial", 0, args.delay), ("read-ahead", 2, args.delay), ("serial", 0, 0.0), ("read-ahead", 2, 0.0)]
        times: dict[tuple[str, float], list[float]] = {(name, delay): [] for name, _, delay in modes}
        with ChatServer() as server:
            settings.MANGA_LLM_BASE_URL = server.url
            settings.MANGA_LLM_MODEL = "stand-in"
            settings.MANGA_LLM_VISION = "off"
            number = 0
            run_chapter(make_chapter(number, files[:1]), read_ahead=0)  # warm-up: the models load
            for run in range(1, args.runs + 1):
                for name, depth, delay in modes:
                    number += 1
                    server.delay_s = delay
                    elapsed, status = run_chapter(make_chapter(number, files), read_ahead=depth)
                    times[(name, delay)].append(elapsed)
                    print(f"run {run} {name:<10} delay {delay:g} s: {elapsed:6.1f} s ({status})", flush=True)

    median = {key: statistics.median(values) for key, values in times.items()}
    d = args.delay
    floor = median[("serial", 0.0)]
    print(f"\n{args.pages} pages, translator delay {d:g} s, medians of {args.runs} runs (2-core dev VM, shared):")
    for (name, delay), value in median.items():
        print(f"  {name:<10} delay {delay:g} s: {value:6.1f} s  ({value / args.pages:.2f} s/page)")
    serial_extra = median[("serial", d)] - floor
    ahead_extra = median[("read-ahead", d)] - floor
    ahead_own_floor = median[("read-ahead", d)] - median[("read-ahead", 0.0)]
    target = 0.5 * args.pages * d
    print(f"  extra over the zero-delay serial run: serial {serial_extra:.1f} s, read-ahead {ahead_extra:.1f} s")
    print(f"  read-ahead with delay vs read-ahead without: +{ahead_own_floor:.1f} s")
    print(f"  target ≤ {target:.1f} s: {'met' if ahead_extra <= target else 'NOT met'}")
    print(f"  wall ratio read-ahead / serial at delay {d:g} s: {median[('read-ahead', d)] / median[('serial', d)]:.2f}")
    print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
