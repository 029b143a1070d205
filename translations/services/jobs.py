"""Chapter translation jobs: request, retry and cancel (DESIGN §6). Every edge goes through these.

Work reaches the workers only through `job_enqueue`, after the transaction that made it
commits (`transaction.on_commit`), so a worker never looks for rows that are not there yet.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from translations.models import Chapter, ExecutionBackend, PageResult, TranslationJob, Translator
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.pipeline.translators import TRANSLATORS
from translations.progress import record_job_finished, record_job_queued
from translations.selectors import active_job_count
from translations.services.audit import audit_record
from translations.services.queue import job_enqueue

__all__ = [
    "JobConflict",
    "JobError",
    "JobRefused",
    "QueueFull",
    "chapter_request_translation",
    "default_translator",
    "job_cancel",
    "job_enqueue",
    "job_retry_failed",
    "page_retry",
]

logger = logging.getLogger(__name__)


class JobError(Exception):
    """A request the job services refuse; `status_code` is the HTTP answer an API gives."""

    status_code = 400


class JobRefused(JobError):
    """Bad input: an unknown translator or language, a chapter without pages, nothing to retry."""


class JobConflict(JobError):
    """The chapter already has a queued or running job (409)."""

    status_code = 409

    def __init__(self, message: str, job: TranslationJob | None = None) -> None:
        super().__init__(message)
        self.job = job


class QueueFull(JobError):
    """Too many queued or running jobs (429)."""

    status_code = 429


def default_translator() -> str:
    """The configured default, else Gemini when a key is set, else the cleaning mode."""
    if settings.MANGA_DEFAULT_TRANSLATOR:
        return settings.MANGA_DEFAULT_TRANSLATOR
    return Translator.GEMINI_HQ if settings.GEMINI_API_KEY else Translator.NONE


def chapter_request_translation(
    *,
    chapter: Chapter,
    target_language: str | None = None,
    translator: str | None = None,
    requested_by=None,
    backend: str | None = None,
    enqueue: bool = True,
) -> TranslationJob:
    """Create a job with one pending result per page and enqueue it once committed.

    `enqueue=False` leaves the job for the caller to run (`translate_chapter --sync`).
    Raises JobConflict (the chapter has an active job), QueueFull, or JobRefused.
    """
    target = target_language or chapter.manga.target_language
    translator = translator or default_translator()
    backend = backend or settings.MANGA_TRANSLATE_EXECUTION_BACKEND
    if target not in TARGET_LANGUAGES:
        raise JobRefused(f"Unknown target language {target!r}; use one of: {', '.join(TARGET_LANGUAGES)}.")
    if translator not in TRANSLATORS:
        raise JobRefused(f"Unknown translator {translator!r}; use one of: {', '.join(TRANSLATORS)}.")
    if backend not in ExecutionBackend.values:
        raise JobRefused(f"Unknown execution backend {backend!r}; use one of: {', '.join(ExecutionBackend.values)}.")
    pages = list(chapter.pages.order_by("index"))
    if not pages:
        raise JobRefused(f"{chapter} has no pages to translate.")

    try:
        with transaction.atomic():
            _check_queue_room()
            job = TranslationJob.objects.create(
                chapter=chapter,
                target_language=target,
                translator=translator,
                backend=backend,
                requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
                pages_total=len(pages),
            )
            PageResult.objects.bulk_create(PageResult(job=job, page=page) for page in pages)
            record_job_queued(job.pk, [p.index for p in pages])
            audit_record(
                actor=requested_by,
                action="job.request",
                obj=job,
                message=f"Requested {translator} translation of {chapter} into {target} ({len(pages)} pages).",
                details={"chapter": chapter.pk, "translator": translator, "backend": backend, "target": target},
            )
            if enqueue:
                transaction.on_commit(lambda: job_enqueue(job.pk))
    except IntegrityError as exc:
        # The partial unique constraint job_one_active_per_chapter decides races between processes.
        active = TranslationJob.objects.filter(chapter=chapter, status__in=TranslationJob.ACTIVE).first()
        if active is None:
            raise
        raise JobConflict(f"{chapter} already has an active job ({active.pk}, {active.status}).", active) from exc
    logger.info("job %s requested: chapter=%s pages=%d translator=%s", job.pk, chapter.pk, len(pages), translator)
    return job


def _check_queue_room() -> None:
    # A soft cap: two requests racing on PostgreSQL may both pass at cap - 1 (SQLite serialises them).
    limit = settings.MANGA_QUEUE_MAX_ACTIVE_JOBS
    if active_job_count() >= limit:
        raise QueueFull(f"The queue is full ({limit} jobs queued or running); try again later.")


def job_retry_failed(*, job: TranslationJob, requested_by=None) -> int:
    """Queue the failed (and cancelled) pages of a finished job again; returns how many."""
    retry_statuses = (PageResult.Status.FAILED, PageResult.Status.CANCELLED)
    try:
        with transaction.atomic():
            job = TranslationJob.objects.select_for_update().get(pk=job.pk)
            if job.status in TranslationJob.ACTIVE:
                raise JobRefused(f"Job {job.pk} is still {job.status}; retry it once it has finished.")
            results = list(job.page_results.filter(status__in=retry_statuses).select_related("page"))
            if not results:
                raise JobRefused(f"Job {job.pk} has no failed pages to retry.")
            _check_queue_room()
            requeued = [r for r in results if r.move_to(PageResult.Status.PENDING, finished_at=None)]
            _requeue_job(job)
            record_job_queued(job.pk, sorted(r.page.index for r in requeued))
            audit_record(
                actor=requested_by,
                action="job.retry_failed",
                obj=job,
                message=f"Retried {len(requeued)} failed page(s) of job {job.pk}.",
                details={"pages": sorted(r.page.index for r in requeued)},
            )
            transaction.on_commit(lambda: job_enqueue(job.pk))
    except IntegrityError as exc:
        raise JobConflict(f"{job.chapter} has another active job; retry this one after it.") from exc
    return len(requeued)


def page_retry(*, page_result: PageResult, requested_by=None) -> PageResult:
    """Queue one finished page again; its job resumes (or keeps running) and translates it in order."""
    try:
        with transaction.atomic():
            job = TranslationJob.objects.select_for_update().get(pk=page_result.job_id)
            result = PageResult.objects.select_related("page").get(pk=page_result.pk)
            if result.status in (PageResult.Status.PENDING, PageResult.Status.RUNNING):
                raise JobRefused(f"Page {result.page.index} of job {job.pk} is already {result.status}.")
            if job.status not in TranslationJob.ACTIVE:
                _check_queue_room()
            if not result.move_to(PageResult.Status.PENDING, finished_at=None):
                raise JobRefused(f"Page {result.page.index} of job {job.pk} changed meanwhile; try again.")
            enqueue = job.status not in TranslationJob.ACTIVE
            if enqueue:
                _requeue_job(job)
            record_job_queued(job.pk, [result.page.index])
            audit_record(
                actor=requested_by,
                action="page.retry",
                obj=result,
                message=f"Retried page {result.page.index} of job {job.pk}.",
                details={"job": job.pk, "page": result.page.index},
            )
            if enqueue:
                transaction.on_commit(lambda: job_enqueue(job.pk))
    except IntegrityError as exc:
        raise JobConflict(f"{job.chapter} has another active job; retry this page after it.") from exc
    return result


def _requeue_job(job: TranslationJob) -> None:
    if not job.move_to(TranslationJob.Status.QUEUED, finished_at=None, error=""):
        raise JobRefused(f"Job {job.pk} changed meanwhile; try again.")


def job_cancel(*, job: TranslationJob, requested_by=None) -> bool:
    """Cancel a queued or running job: its pending and running pages become cancelled.

    A page a worker is translating right now finishes in the worker, but its result is not
    kept: the worker's conditional update finds the page cancelled. Returns False when the job
    had already finished.
    """
    with transaction.atomic():
        job = TranslationJob.objects.select_for_update().get(pk=job.pk)
        if not job.move_to(TranslationJob.Status.CANCELLED):
            return False
        stopped = job.page_results.filter(status__in=(PageResult.Status.PENDING, PageResult.Status.RUNNING)).update(
            status=PageResult.Status.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        )
        job.refresh_counters()
        record_job_finished(job)
        audit_record(
            actor=requested_by,
            action="job.cancel",
            obj=job,
            message=f"Cancelled job {job.pk}; {stopped} page(s) not translated.",
            details={"pages_cancelled": stopped},
        )
    return True
