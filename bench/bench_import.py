"""Benchmark `import_chapter`: wall time and peak RSS of importing a generated chapter, median of runs.

    .venv/bin/python bench/bench_import.py [--pages 100] [--runs 5] [--zip]

Each run is a fresh process with a fresh embedded database (migrated before the clock starts).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `mangasite` must import


def make_chapter(folder: Path, pages: int) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    rng = random.Random(7)
    for index in range(1, pages + 1):
        image = Image.new("L", (830, 1170), 255)
        draw = ImageDraw.Draw(image)
        for _ in range(40):  # panels and strokes, so JPEG sizes look like real pages (~100-200 KB)
            x, y = rng.randrange(800), rng.randrange(1140)
            draw.line((x, y, x + rng.randrange(-300, 300), y + rng.randrange(-300, 300)), fill=0, width=3)
        noise = Image.effect_noise((830, 1170), 40)
        Image.blend(image, noise, 0.3).save(folder / f"page {index}.jpg", quality=85)


def run_once(source: Path) -> dict:
    """Child mode: import `source` into the database of MANGA_DATA_DIR and report time and peak RSS."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("import_chapter", str(source), manga="Bench", chapter="1", verbosity=0)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "peak_rss_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--zip", action="store_true", help="import a .cbz instead of a folder")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(Path(args.one))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        source = tmp_path / "chapter"
        make_chapter(source, args.pages)
        if args.zip:
            archive = tmp_path / "chapter.cbz"
            with zipfile.ZipFile(archive, "w") as zf:
                for page in sorted(source.iterdir()):
                    zf.write(page, page.name)
            source = archive
        size_mib = sum(p.stat().st_size for p in (tmp_path / "chapter").iterdir()) / 2**20
        results = []
        for run in range(args.runs):
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
            env.update(DEBUG="1", MANGA_DATA_DIR=str(tmp_path / f"data{run}"))
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(source)], cwd=ROOT, env=env, check=True, capture_output=True
            )
            results.append(json.loads(out.stdout))
    seconds = [r["seconds"] for r in results]
    rss = [r["peak_rss_mib"] for r in results]
    kind = "cbz" if args.zip else "folder"
    print(f"import_chapter, {args.pages} pages of 830x1170 JPEG ({size_mib:.1f} MiB), {kind}, {args.runs} runs")
    print(f"  wall s:       median {statistics.median(seconds):.2f}  min {min(seconds):.2f}  max {max(seconds):.2f}")
    print(f"  per page ms:  median {statistics.median(seconds) / args.pages * 1000:.1f}")
    print(f"  peak RSS MiB: median {statistics.median(rss):.0f}  max {max(rss):.0f}")


if __name__ == "__main__":
    main()
