"""Benchmark the cloudrun executor: the unified compute route against the split path, on the real compute service.

    .venv/bin/python bench/split_compute.py [--pages 10] [--delay 3] [--runs 2]

One compute service (`python -m compute_service`, loopback, MANGA_COMPUTE_CONCURRENCY=2, CPU) and one local Chat
Completions stand-in that answers after `--delay` s. A 10-page chapter goes through `job_run` with
- unified: `CloudRunExecutor`, the service translates (it calls the stand-in) inside `/internal/translate/page`;
- split: `SplitCloudRunExecutor` (detect ahead 2 pages → translate in this process → render);
interleaved round by round, each the median over the runs; plus the split pages that fell back (should be 0).
Embedded setup: a fresh SQLite database in a temporary MANGA_DATA_DIR.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.read_ahead import make_chapter, page_files, setup_django  # noqa: E402


def run_chapter(chapter, executor) -> tuple[float, str, int]:
    from translations.models import PageResult
    from translations.services.execution import job_run
    from translations.services.jobs import chapter_request_translation

    job = chapter_request_translation(
        chapter=chapter, target_language="en", translator="openai_compat", backend="cloudrun", enqueue=False
    )
    started = time.perf_counter()
    job_run(job_id=job.pk, executor=executor, slice_seconds=10_000)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    paths = PageResult.objects.filter(job=job).values_list("models_used__compute_path", flat=True)
    fallbacks = sum(1 for path in paths if path and path != "split")
    return elapsed, f"{job.status} {job.pages_succeeded}/{job.pages_total}", fallbacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        setup_django(Path(tmp))
        from django.conf import settings

        from compute_service.tests.serving import TOKEN, Service, models_missing
        from translations.executors import CloudRunExecutor
        from translations.split_executor import SplitCloudRunExecutor
        from translations.testing.chat_server import ChatServer

        if reason := models_missing():
            sys.exit(reason)
        files = page_files(args.pages)
        with ChatServer(delay_s=args.delay) as llm:
            llm_env = {"MANGA_LLM_BASE_URL": llm.url, "MANGA_LLM_MODEL": "stand-in", "MANGA_LLM_VISION": "off"}
            for name, value in llm_env.items():
                setattr(settings, name, value)
            service = Service(MANGA_COMPUTE_CONCURRENCY="2", **llm_env).start()
            try:
                assert service.wait_ready(timeout=300)["status"] == "ok"
                options = {"url": service.url, "token": TOKEN, "timeout_sec": 300, "retries": 2, "backoff_ms": 500}
                modes = {
                    "unified": lambda: CloudRunExecutor(**options),  # type: ignore[arg-type]
                    "split": lambda: SplitCloudRunExecutor(read_ahead=2, **options),
                }
                number = 0
                run_chapter(make_chapter(number, files[:1]), modes["unified"]())  # warm-up
                times: dict[str, list[float]] = {name: [] for name in modes}
                for run in range(1, args.runs + 1):
                    for name, make in modes.items():
                        number += 1
                        elapsed, status, fallbacks = run_chapter(make_chapter(number, files), make())
                        times[name].append(elapsed)
                        print(f"run {run} {name:<8}: {elapsed:6.1f} s ({status}, {fallbacks} fallback(s))", flush=True)
            finally:
                service.stop()

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{args.pages} pages, translator delay {args.delay:g} s, medians of {args.runs} runs (2-core VM, shared):")
    for name, value in median.items():  # type: ignore[assignment]
        print(f"  {name:<8}: {value:6.1f} s ({value / args.pages:.2f} s/page)")
    print(f"  wall ratio split / unified: {median['split'] / median['unified']:.2f}")


if __name__ == "__main__":
    main()
