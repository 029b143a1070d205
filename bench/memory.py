"""Memory over a long run: RSS of one process translating many pages (the dev pages, cycled).

    .venv/bin/python bench/memory.py [--pages 300] [--at 20,100,300] [--translator test]

Prints the resident set size after each page count in `--at`, the growth from the first checkpoint to the last,
and the peak (VmHWM). The target (issue 13): after 300 pages within 100 MB of the size after page 20. Pages come
from ../shared/evalset/dev (or $MANGA_EVALSET_DIR/dev); without them a generated page stands in.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `translations` must import


def evalset_pages() -> list[bytes]:
    base = Path(os.environ.get("MANGA_EVALSET_DIR") or ROOT.parent / "shared" / "evalset") / "dev"
    files = sorted(p for p in base.glob("*.jpg") if "_en" not in p.name) if base.is_dir() else []
    if files:
        return [p.read_bytes() for p in files]
    from PIL import Image

    from bench.pipeline import webtoon_strip  # a generated stand-in: balloons of vertical Japanese

    strip = Image.open(io.BytesIO(webtoon_strip())).crop((0, 0, 720, 1020))
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG")
    return [buffer.getvalue()]


def status_mb(field: str) -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--at", default="20,100,300", help="page counts after which RSS is printed")
    parser.add_argument("--translator", default="test", choices=["none", "test"])
    args = parser.parse_args()
    checkpoints = sorted({int(n) for n in args.at.split(",") if int(n) <= args.pages} | {args.pages})

    from translations.pipeline.factory import build_pipeline, get_translator

    pipeline = build_pipeline(os.environ.get("MANGA_MODEL_DIR") or ROOT / "data" / "models")
    pages = evalset_pages()
    print(f"memory: {args.pages} pages ({len(pages)} distinct), translator={args.translator}, pid {os.getpid()}")
    started = time.perf_counter()
    seen: dict[int, float] = {}
    for n in range(1, args.pages + 1):
        # A new text every page, as real translations are: caches keyed by text must stay bounded.
        translator = get_translator(args.translator, text=f"Page {n}, block {{id}}: where were you all night?")
        pipeline.run(pages[(n - 1) % len(pages)], translator=translator, source_language="ja", target_language="en")
        if n in checkpoints:
            gc.collect()
            seen[n] = status_mb("VmRSS")
            print(f"after page {n:4d}: RSS {seen[n]:7.1f} MiB  ({time.perf_counter() - started:6.1f} s)", flush=True)
    first, last = checkpoints[0], checkpoints[-1]
    growth = seen[last] - seen[first]
    print(f"growth page {first} → {last}: {growth:+.1f} MiB; peak (VmHWM) {status_mb('VmHWM'):.1f} MiB")


if __name__ == "__main__":
    main()
