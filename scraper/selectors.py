"""Reads for the scraper: download snapshots and missed events, source health, what the library already has."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, Max, Q
from django.utils import timezone

from scraper.models import Download, DownloadEvent, Source
from scraper.progress import DownloadEventMessage, event_message
from translations.models import Chapter

HEALTH_WINDOW = timedelta(days=1)


class SourceHealth(TypedDict):
    downloads: int  # finished in the window
    failed: int
    error_rate: float | None
    last_success: str | None  # ISO time
    last_error_code: str


def source_health(source: Source, *, now=None) -> SourceHealth:
    """Downloads finished in the last day: how many, how many failed, when one last succeeded."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    finished = Download.objects.filter(source=source, finished_at__gte=since).exclude(status=Download.Status.CANCELLED)
    totals = finished.aggregate(
        total=Count("pk"), failed=Count("pk", filter=Q(status__in=[Download.Status.ERROR, Download.Status.PARTIAL]))
    )
    last = Download.objects.filter(source=source, status=Download.Status.SUCCESS).aggregate(at=Max("finished_at"))["at"]
    last_error = (
        Download.objects.filter(source=source)
        .exclude(error_code="")
        .order_by("-finished_at")
        .values_list("error_code", flat=True)
        .first()
        or ""
    )
    total = totals["total"]
    return {
        "downloads": total,
        "failed": totals["failed"],
        "error_rate": (totals["failed"] / total) if total else None,
        "last_success": last.isoformat() if last else None,
        "last_error_code": last_error,
    }


def library_chapter_numbers(*, manga_url: str) -> set[Decimal]:
    """Numbers of the chapters with pages that the library holds for this source manga."""
    numbers = Chapter.objects.filter(manga__source_url=manga_url, pages__isnull=False).values_list("number", flat=True)
    downloaded = Download.objects.filter(manga_url=manga_url, status=Download.Status.SUCCESS).values_list(
        "chapter_number", flat=True
    )
    return {Decimal(n).normalize() for n in [*numbers, *downloaded]}


def active_downloads_by_chapter_url(urls: list[str]) -> dict[str, Download]:
    active = Download.objects.filter(chapter_url__in=urls, status__in=Download.ACTIVE)
    return {download.chapter_url: download for download in active}


def download_snapshot(*, download_id: int) -> dict | None:
    download = Download.objects.filter(pk=download_id).select_related("source").first()
    if download is None:
        return None
    pages = [
        {"page": page.index, "status": page.status, "error_code": page.error_code, "error": page.error}
        for page in download.pages.order_by("index")
    ]
    return {
        "type": "snapshot",
        "download": download.pk,
        "seq": download.last_event_seq,
        "data": {
            "status": download.status,
            "source": str(download.source),
            "manga_title": download.manga_title,
            "chapter_number": str(download.chapter_number),
            "pages_total": download.pages_total,
            "pages_stored": download.pages_stored,
            "pages_failed": download.pages_failed,
            "error_code": download.error_code,
            "error": download.error,
            "chapter": download.chapter_id,
            "translation_job": download.translation_job_id,
            "pages": pages,
        },
    }


def download_events_after(*, download_id: int, after_seq: int, limit: int = 500) -> list[DownloadEventMessage]:
    events = DownloadEvent.objects.filter(download_id=download_id, seq__gt=after_seq).order_by("seq")[:limit]
    return [event_message(event) for event in events]


def download_visible_to(*, download_id: int, user) -> bool:
    """Downloads are staff business."""
    return bool(user.is_authenticated and user.is_staff and Download.objects.filter(pk=download_id).exists())
