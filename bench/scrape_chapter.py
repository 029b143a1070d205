"""Benchmark a chapter download from the local Madara site at the default politeness.

    .venv/bin/python bench/scrape_chapter.py [--pages 60] [--runs 3]

One process: the local site (scraper/testing/madara_site.py) on loopback serves a chapter of
830×1170 JPEG pages; `download_run` fetches it through the real chokepoint (SSRF guard,
throttle in the database, 4 requests at once) and imports it through `chapter_import`.
Per run: wall time from claim to imported chapter, the request rate the server saw (its own
arrival times), and the process's peak RSS so far. Medians over the runs.

The politeness is the shipped default (MANGA_SCRAPER_REQUESTS_PER_SEC=2, MANGA_SCRAPER_CONCURRENCY=4)
unless those variables are set; only the loopback allow-list is added. Embedded setup: a fresh
SQLite database in a temporary MANGA_DATA_DIR; with DATABASE_URL the given (scratch) database is used.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(data_dir: Path) -> None:
    os.environ["MANGA_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")  # the placeholder SECRET_KEY is fine for a benchmark
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["MANGA_SCRAPER_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def page_jpeg(index: int) -> bytes:
    """An ordinary-sized page: 830×1170, panels and lines of 'text', about 60–90 KB as JPEG."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (830, 1170), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for panel in range(4):
        top = 20 + panel * 285
        draw.rectangle([20, top, 810, top + 265], outline=(20, 20, 20), width=4)
        for line in range(6):
            y = top + 30 + line * 36
            draw.rectangle([60 + (index * 13 + line * 29) % 200, y, 420 + (index * 7 + panel * 31) % 300, y + 14],
                           fill=((index * 23 + line) % 200, 60, 90))  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scrape-bench-") as tmp:
        setup_django(Path(tmp))
        from django.conf import settings

        from scraper.models import Source
        from scraper.services.downloads import ChapterChoice, download_request, download_run
        from scraper.testing.madara_site import FixtureChapter, FixtureManga, MadaraSite

        pages = [page_jpeg(n) for n in range(1, args.pages + 1)]
        chapters = [FixtureChapter(f"Chapter {run}", f"chapter-{run}", pages) for run in range(1, args.runs + 1)]  # type: ignore[arg-type]
        walls, rates, rss = [], [], []
        with MadaraSite([FixtureManga("bench", "Bench Manga", chapters=chapters)]) as site:
            source = Source.objects.create(name="bench", base_url=site.url)
            print(
                f"{args.pages} pages of {statistics.mean(map(len, pages)) / 1024:.0f} KiB, "
                f"politeness {settings.MANGA_SCRAPER_REQUESTS_PER_SEC} req/s, "
                f"{settings.MANGA_SCRAPER_CONCURRENCY} at once, database {settings.DATABASES['default']['ENGINE']}"
            )
            for run in range(1, args.runs + 1):
                download, _ = download_request(
                    source=source,
                    manga_url=f"{site.url}manga/bench/",
                    manga_title=f"Bench Manga {run}",
                    chapter=ChapterChoice(url=site.chapter_url("bench", f"chapter-{run}"), number=run),  # type: ignore[arg-type]
                    enqueue=False,
                )
                first = len(site.requests)
                started = time.perf_counter()
                status = download_run(download_id=download.pk)
                wall = time.perf_counter() - started
                assert status == "success", (status, download.pk)
                seen = sorted(r.at for r in site.requests[first:])
                rate = (len(seen) - 1) / (seen[-1] - seen[0])
                walls.append(wall)
                rates.append(rate)
                rss.append(rss_mib())
                print(f"run {run}: {wall:.2f} s, {len(seen)} requests at {rate:.2f} req/s, peak RSS {rss[-1]:.0f} MiB")
        print(
            f"median: {statistics.median(walls):.2f} s per {args.pages}-page chapter, "
            f"{statistics.median(rates):.2f} req/s observed by the server, peak RSS {max(rss):.0f} MiB"
        )


if __name__ == "__main__":
    main()
