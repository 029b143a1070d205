"""Benchmark the page pipeline: per-stage medians over several runs and peak RSS, per scenario.

    .venv/bin/python bench/pipeline.py [--runs 5] [--translator test] [--threads 2] [--vs-baseline]

Scenarios: every page in ../shared/evalset/dev (or $MANGA_EVALSET_DIR/dev; skipped when absent) and a
generated 720×14000 webtoon strip. Each scenario runs in a fresh process, so its peak RSS is its own; the
first run (model loading) is reported apart from the medians. With `--vs-baseline` every scenario also
runs with MANGA_PIPELINE_SETTINGS=baseline (the detection settings before issue 13), the two processes
alternating current, baseline, current, baseline … (`--rounds`), and the ratio current/baseline of the
per-page medians is printed pair by pair, so a machine whose speed drifts still compares like with like. The
process's CPU time per page (user + system, all threads) is printed and compared too: on a machine shared with
other work it moves far less than the wall time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `translations` must import
EVALSET = Path(os.environ.get("MANGA_EVALSET_DIR") or ROOT.parent / "shared" / "evalset") / "dev"
STRIP = "webtoon-720x14000"


def webtoon_strip() -> bytes:
    """A 720×14000 strip: 20 balloons of vertical Japanese, screentone panels between them."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(ROOT / "fonts" / "NotoSansCJKjp-Regular-subset.otf"), 28)
    dots = np.indices((14000, 720)).sum(axis=0) % 6 == 0  # a screentone over everything
    strip = Image.fromarray(np.where(dots, 200, 255).astype("uint8"))
    draw = ImageDraw.Draw(strip)
    for n, top in enumerate(range(150, 13500, 680)):
        left = 80 if n % 2 else 340
        draw.ellipse((left, top, left + 300, top + 420), fill=255, outline=0, width=3)
        x = left + 170
        for text in ("こんにちは", "元気ですか"):
            y = top + 80
            for char in text:
                draw.text((x, y), char, font=font, fill=0)
                y += 32
            x -= 40
    buffer = io.BytesIO()
    strip.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def run_scenario(name: str, runs: int, translator_name: str) -> dict:
    """Child mode: run one scenario `runs` times in this process; print timings and peak RSS."""
    from translations.pipeline.factory import build_pipeline, get_translator

    data = webtoon_strip() if name == STRIP else (EVALSET / name).read_bytes()
    pipeline = build_pipeline(os.environ.get("MANGA_MODEL_DIR") or ROOT / "data" / "models")
    translator = get_translator(translator_name)
    walls, cpus, stages = [], [], []
    for _ in range(runs + 1):  # the first run loads the models
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = pipeline.run(data, translator=translator, source_language="ja", target_language="en")
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
        stages.append(outcome.report.timings_ms)
    return {
        "first_s": walls[0],
        "walls_s": walls[1:],
        "cpus_s": cpus[1:],
        "stages_ms": stages[1:],
        "regions": len(outcome.report.regions),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    from translations.pipeline.translators import OFFLINE_TRANSLATORS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--translator", default="test", choices=OFFLINE_TRANSLATORS)
    parser.add_argument("--threads", type=int, default=2, help="MANGA_ONNX_THREADS for the runs (2 cores)")
    parser.add_argument("--only", help=f"comma-separated scenarios to run (dev page file names, {STRIP})")
    parser.add_argument("--vs-baseline", action="store_true", help="also run today's settings against the baseline")
    parser.add_argument("--rounds", type=int, default=2, help="with --vs-baseline: alternations per scenario")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_scenario(args.one, args.runs, args.translator)))
        return

    scenarios = sorted(p.name for p in EVALSET.glob("*.jpg") if "_en" not in p.name) if EVALSET.is_dir() else []
    scenarios.append(STRIP)
    if args.only:
        scenarios = args.only.split(",")
    env = {**os.environ, "MANGA_ONNX_THREADS": str(args.threads)}
    print(f"pipeline, translator={args.translator}, {args.runs} runs (+1 warm-up), {args.threads} ONNX threads")
    columns = f"{'regions':>7} {'first s':>8} {'median s':>9} {'cpu s':>6} {'peak MiB':>9}"
    print(f"{'scenario':38} {columns}  stage medians (ms)")
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for name in scenarios:
        if not args.vs_baseline:
            _print(name, _child(name, args, env))
            continue
        pairs, cpu_pairs = [], []
        for _ in range(args.rounds):
            current = _child(name, args, {**env, "MANGA_PIPELINE_SETTINGS": "current"})
            baseline = _child(name, args, {**env, "MANGA_PIPELINE_SETTINGS": "baseline"})
            _print(name + " [current]", current)
            _print(name + " [baseline]", baseline)
            pairs.append(statistics.median(current["walls_s"]) / statistics.median(baseline["walls_s"]))
            cpu_pairs.append(statistics.median(current["cpus_s"]) / statistics.median(baseline["cpus_s"]))
        ratios.append(statistics.median(pairs))
        cpu_ratios.append(statistics.median(cpu_pairs))
        print(
            f"{name:38} current/baseline per page: {', '.join(f'{r:.2f}' for r in pairs)}"
            f" (CPU time: {', '.join(f'{r:.2f}' for r in cpu_pairs)})"
        )
    if ratios:
        print(
            f"median ratio current/baseline over {len(ratios)} scenarios: {statistics.median(ratios):.2f}"
            f" (CPU time: {statistics.median(cpu_ratios):.2f})"
        )


def _child(name: str, args: argparse.Namespace, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--one", name, "--runs", str(args.runs), "--translator", args.translator],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print(name: str, result: dict) -> None:
    stage_medians = {
        stage: round(statistics.median(run.get(stage, 0) for run in result["stages_ms"]))
        for stage in result["stages_ms"][0]
    }
    print(
        f"{name:38} {result['regions']:7d} {result['first_s']:8.2f} {statistics.median(result['walls_s']):9.2f}"
        f" {statistics.median(result['cpus_s']):6.2f} {result['peak_rss_mib']:9.0f}  {stage_medians}",
        flush=True,
    )


if __name__ == "__main__":
    main()
