"""django-q2 task entrypoints: each takes ids, calls one service, and is safe to deliver twice."""

from __future__ import annotations

from scraper.services.downloads import download_run
from scraper.services.sweeper import downloads_sweep


def download_chapter(download_id: int) -> str:
    return str(download_run(download_id=download_id))


def sweep_downloads() -> dict:
    report = downloads_sweep()
    return {"requeued": len(report.requeued), "failed": len(report.failed), "reenqueued": len(report.reenqueued)}
