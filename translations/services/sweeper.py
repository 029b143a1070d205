"""The periodic sweeper (a django-q2 schedule, every minute): recover work whose worker died.

- A running page whose lease ran out (its worker's heartbeat stopped) goes back to pending and
  its job is queued again; after MANGA_PAGE_MAX_ATTEMPTS such deaths it is failed instead, since
  the page itself may be what kills the worker (memory, a crash in a native library).
- An active job with no page running, enqueued more than one sweep period ago, whose task is no
  longer waiting in the broker is queued again: its task was lost (popped by a cluster that died
  before it claimed a page). So a lost task restarts within about two sweeper periods, not after
  django-q2's `retry`. A task a live cluster has prefetched looks the same: the duplicate finds
  the pages claimed and ends at once.
- Where the broker cannot be read, an active job with no page running enqueued longer than
  MANGA_Q_RETRY ago is queued again.
- Audit entries older than MANGA_AUDIT_RETENTION_DAYS are removed, compute calls (the metrics'
  rows) older than MANGA_METRICS_RETENTION_DAYS too.

Re-queueing twice is harmless: pages are claimed with conditional updates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from translations.models import PageResult, TranslationJob
from translations.progress import record_job_queued, record_page_failed
from translations.services.audit import audit_prune
from translations.services.broker_tasks import waiting_job_ids
from translations.services.queue import TASK_TRANSLATE_JOB, job_enqueue
from translations.services.telemetry import compute_calls_prune

logger = logging.getLogger(__name__)

SWEEP_TASK = "translations.tasks.sweep_jobs"
SWEEP_SCHEDULE_NAME = "translations: sweep jobs"
SWEEP_EVERY_MINUTES = 1

Status = PageResult.Status


@dataclass
class SweepReport:
    requeued_pages: list[int] = field(default_factory=list)
    failed_pages: list[int] = field(default_factory=list)
    requeued_jobs: list[int] = field(default_factory=list)
    audit_pruned: int = 0
    compute_calls_pruned: int = 0


def jobs_sweep(*, now=None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    expired = PageResult.objects.filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True),
        status=Status.RUNNING,
        job__status__in=TranslationJob.ACTIVE,
    ).select_related("page", "job")
    jobs_to_queue: set[int] = set()
    for result in expired:
        if _recover_page(result, now=now, report=report):
            jobs_to_queue.add(result.job_id)

    jobs_to_queue.update(_jobs_with_lost_tasks(now=now))
    # A job whose last page was recovered as failed has nothing pending: its task finishes it.
    for job_id in sorted(jobs_to_queue):
        job_enqueue(job_id)
        report.requeued_jobs.append(job_id)
    report.audit_pruned = audit_prune(now=now)
    report.compute_calls_pruned = compute_calls_prune(now=now)
    if report.requeued_pages or report.failed_pages or report.requeued_jobs:
        logger.warning(
            "sweep: requeued pages=%s failed pages=%s requeued jobs=%s",
            report.requeued_pages,
            report.failed_pages,
            report.requeued_jobs,
        )
    return report


def _jobs_with_lost_tasks(*, now) -> set[int]:
    waiting = waiting_job_ids(TASK_TRANSLATE_JOB)
    grace = (
        timedelta(minutes=SWEEP_EVERY_MINUTES)
        if waiting is not None
        else timedelta(seconds=settings.Q_CLUSTER["retry"])
    )
    idle = (
        TranslationJob.objects.filter(status__in=TranslationJob.ACTIVE)
        .filter(Q(enqueued_at__lt=now - grace) | Q(enqueued_at__isnull=True))
        .exclude(page_results__status=Status.RUNNING)
        .values_list("pk", flat=True)
        .distinct()
    )
    return set(idle) - (waiting or set())


def _recover_page(result: PageResult, *, now, report: SweepReport) -> bool:
    with transaction.atomic():
        TranslationJob.objects.select_for_update().filter(pk=result.job_id).first()
        # Conditional on the claim we saw: a heartbeat or a finish since then wins.
        where = {"attempts": result.attempts, "lease_expires_at": result.lease_expires_at}
        if result.attempts >= settings.MANGA_PAGE_MAX_ATTEMPTS:
            error = (
                f"the worker stopped {result.attempts} times while translating this page "
                "(killed, out of memory, or past the task timeout)"
            )
            if not result.move_to(
                Status.FAILED, where=where, failure_stage="worker", error=error, lease_expires_at=None
            ):
                return False
            result.job.refresh_counters()
            record_page_failed(result, failure_stage="worker", error=error)
            report.failed_pages.append(result.pk)
            return True
        if not result.move_to(Status.PENDING, where=where, lease_expires_at=None):
            return False
        record_job_queued(result.job_id, [result.page.index])
        report.requeued_pages.append(result.pk)
        return True
