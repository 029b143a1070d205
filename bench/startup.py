"""Start-up of a translate_page process: Django set up, the command's imports, the pipeline built and its three
ONNX sessions opened, and nothing else (no page).

    .venv/bin/python bench/startup.py [--root CHECKOUT]

Prints the seconds of each step. `--root` imports another checkout's code (e.g. a `git worktree` of main), so
the whole-process time of old and new can be compared side by side with any process timer, for example
`/usr/bin/time -v`, alternating the two commands several times and taking medians.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
    steps = {}

    import django

    django.setup()
    from django.conf import settings

    # What `manage.py translate_page` imports before it reads the page.
    import translations.management.commands.translate_page  # noqa: F401

    steps["django + imports"] = time.perf_counter() - STARTED
    import numpy as np

    from translations.pipeline.contracts import Box, TextLine
    from translations.pipeline.factory import shared_pipeline

    mark = time.perf_counter()
    pipeline = shared_pipeline(str(settings.MANGA_MODEL_DIR))
    # Open every session, as the first page would: detection on a blank page, recognition of one dark bar.
    pipeline.detector.detect(np.full((64, 64, 3), 255, np.uint8))
    strip = np.full((48, 160, 3), 255, np.uint8)
    strip[16:32, 20:140] = 0
    line = TextLine(Box(0, 0, 160, 48), ((0, 0), (160, 0), (160, 48), (0, 48)), vertical=False)
    pipeline.recognizer.read(strip, (line,), "ja")
    steps["pipeline + sessions"] = time.perf_counter() - mark
    steps["total"] = time.perf_counter() - STARTED
    print(" ".join(f"{name}={seconds:.2f}s" for name, seconds in steps.items()))


if __name__ == "__main__":
    main()
