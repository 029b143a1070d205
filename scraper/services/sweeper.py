"""The downloads sweeper (a django-q2 schedule, every minute): recover downloads whose worker died.

- A running download whose lease ran out goes back to queued and is handed to the workers again;
  it resumes where it stopped (stored pages are kept). After MANGA_SCRAPER_MAX_ATTEMPTS claims it
  is failed with `worker_lost` instead.
- A queued download no task picked up for longer than MANGA_Q_RETRY is handed over again (its
  task was lost).

Both are conditional updates on what the sweep saw, so a heartbeat or a finish meanwhile wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scraper.models import Download, ErrorCode
from scraper.progress import EventType, download_event_record, finished_payload
from scraper.services.downloads import download_enqueue

logger = logging.getLogger(__name__)

SWEEP_TASK = "scraper.tasks.sweep_downloads"
SWEEP_SCHEDULE_NAME = "scraper: sweep downloads"

Status = Download.Status


@dataclass
class DownloadSweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    reenqueued: list[int] = field(default_factory=list)


def downloads_sweep(*, now=None) -> DownloadSweepReport:
    now = now or timezone.now()
    report = DownloadSweepReport()
    expired = Download.objects.filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True), status=Status.RUNNING
    )
    for download in expired:
        _recover(download, report)
    stall_cutoff = now - timedelta(seconds=settings.Q_CLUSTER["retry"])
    stalled = Download.objects.filter(status=Status.QUEUED).filter(
        Q(enqueued_at__lt=stall_cutoff) | Q(enqueued_at__isnull=True)
    )
    for download_id in stalled.values_list("pk", flat=True):
        download_enqueue(download_id)
        report.reenqueued.append(download_id)
    if report.requeued or report.failed or report.reenqueued:
        logger.warning(
            "download sweep: requeued=%s failed=%s re-enqueued=%s", report.requeued, report.failed, report.reenqueued
        )
    return report


def _recover(download: Download, report: DownloadSweepReport) -> None:
    where = {"attempts": download.attempts, "lease_expires_at": download.lease_expires_at}
    with transaction.atomic():
        if download.attempts >= settings.MANGA_SCRAPER_MAX_ATTEMPTS:
            error = f"the worker stopped {download.attempts} times while downloading this chapter"
            if download.move_to(
                Status.ERROR, where=where, error_code=ErrorCode.WORKER_LOST, error=error, lease_expires_at=None
            ):
                download_event_record(
                    download_id=download.pk, type=EventType.FINISHED, payload=finished_payload(download)
                )
                report.failed.append(download.pk)
            return
        if not download.move_to(Status.QUEUED, where=where, lease_expires_at=None):
            return
        pending = list(download.pages.exclude(status="stored").values_list("index", flat=True))
        download_event_record(
            download_id=download.pk,
            type=EventType.QUEUED,
            payload={"chapter_url": download.chapter_url, "pages": pending},
        )
        transaction.on_commit(lambda: download_enqueue(download.pk))
        report.requeued.append(download.pk)
