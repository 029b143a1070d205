"""Benchmark job orchestration with a zero-cost executor (DESIGN §11: ≤ 50 ms per page, 100 pages ≤ 10 s).

    .venv/bin/python bench/orchestration.py [--pages 100] [--runs 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mangasite_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/orchestration.py

Two measurements, each the median of the runs:
- in process: `job_run` over a chapter with an executor that answers at once — claims, events,
  derived counters and output writes: the orchestration cost per page;
- end to end: request → a real `qcluster` (2 workers) on the configured broker, translating
  through the `cloudrun` executor against a local compute-contract stub that answers at once
  (small pages) → job finished: the chapter's wall time, broker and HTTP included.

Embedded setup: a fresh SQLite database in a temporary MANGA_DATA_DIR. With DATABASE_URL the
given database is migrated and written to: use a scratch one.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `mangasite` must import
TOKEN = "bench-token-0123456789"  # noqa: S105 - the local stub's token (≥ 16 characters, check E004)


def setup_django(data_dir: Path) -> None:
    os.environ["MANGA_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")  # the placeholder SECRET_KEY is fine for a benchmark
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class ZeroCostExecutor:
    name = "zero-cost"

    def translate_page(self, work, *, on_stage):
        from translations.executors import PageExecution
        from translations.pipeline.report import PageReport, RegionReport

        on_stage("pipeline")
        region = RegionReport(id=1, box=[0, 0, 5, 5], source_text="原文", translation="text", flags=[])
        report = PageReport(
            width=1,
            height=1,
            source_language=work.source_language,
            target_language=work.target_language,
            translator=work.translator,
            mode="translate",
            regions=[region],
            timings_ms={},
            models={},
        )
        return PageExecution(image=work.image + b"\0", image_format="PNG", report=report, changed=True)


def in_process(pages: int, run: int) -> float:
    from translations.services.execution import job_run
    from translations.services.jobs import chapter_request_translation
    from translations.tests.job_helpers import make_chapter

    chapter = make_chapter(pages, slug=f"bench-inprocess-{run}-{time.time_ns()}")
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    started = time.perf_counter()
    job_run(job_id=job.pk, executor=ZeroCostExecutor(), slice_seconds=float("inf"))
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "success" and job.pages_succeeded == pages, job
    return elapsed


def end_to_end(pages: int, run: int, timeout: float = 300) -> float:
    from translations.models import TranslationJob
    from translations.services.jobs import chapter_request_translation
    from translations.tests.job_helpers import make_chapter

    chapter = make_chapter(pages, slug=f"bench-e2e-{run}-{time.time_ns()}")
    started = time.perf_counter()
    job = chapter_request_translation(chapter=chapter, translator="test", backend="cloudrun")
    deadline = time.monotonic() + timeout
    while TranslationJob.objects.filter(pk=job.pk, status__in=TranslationJob.ACTIVE).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job.pk} did not finish within {timeout}s")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "success" and job.pages_succeeded == pages, (job, job.error)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-orchestration-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        setup_django(data_dir)
        from django.conf import settings
        from django.db import connection

        from translations.testing.compute_server import ComputeStub

        setup = f"database={connection.vendor} broker={'redis' if settings.REDIS_URL else 'orm'}"
        print(f"{setup} pages={args.pages} runs={args.runs}")
        inproc = [in_process(args.pages, run) for run in range(args.runs)]
        per_page = statistics.median(inproc) / args.pages * 1000
        print(f"in process:  median {statistics.median(inproc):.2f}s, {per_page:.1f} ms/page  (runs: {inproc})")

        with ComputeStub(token=TOKEN) as stub:
            env = {
                **os.environ,
                "MANGA_TRANSLATE_EXECUTION_BACKEND": "cloudrun",
                "MANGA_CLOUDRUN_EXEC_URL": stub.url,
                "MANGA_INTERNAL_API_TOKEN": TOKEN,
                "MANGA_Q_WORKERS": "2",
            }
            log = (Path(tmp) / "qcluster.log").open("w")
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                end_to_end(1, -1)  # warm-up: the cluster is up and has imported everything
                e2e = [end_to_end(args.pages, run) for run in range(args.runs)]
            finally:
                os.killpg(cluster.pid, signal.SIGKILL)  # the cluster and its workers
                cluster.wait()
        per_page = statistics.median(e2e) / args.pages * 1000
        print(f"end to end:  median {statistics.median(e2e):.2f}s, {per_page:.1f} ms/page  (runs: {e2e})")


if __name__ == "__main__":
    main()
