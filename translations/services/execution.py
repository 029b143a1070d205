"""Running a job: claim its pages one at a time in reading order, translate each through the executor, record.

One task per job walks the job's pending pages (`job_run`). Claims are conditional updates under
a lock of the job row, so a second delivery of the task, or a task the sweeper queued again,
never runs a page twice at once nor two pages of one chapter side by side. No transaction is
held while a page is translated: claim (short transaction) → executor (no transaction) →
record (short transaction, conditional on the claim still being ours).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from translations import storage
from translations.executors import (
    ExecutorError,
    PageExecution,
    PageWork,
    ReadsAhead,
    TranslateExecutor,
    get_executor,
)
from translations.models import PageResult, TranslationJob
from translations.progress import (
    record_job_finished,
    record_job_queued,
    record_job_started,
    record_page_failed,
    record_page_stage,
    record_page_started,
    record_page_succeeded,
)
from translations.selectors import manga_learned_glossary, page_context_translations
from translations.services.glossary import glossary_propose
from translations.services.queue import job_enqueue, job_enqueue_later
from translations.worker_shutdown import stop_requested

logger = logging.getLogger(__name__)

Status = PageResult.Status
JobStatus = TranslationJob.Status


class RunEnd(enum.StrEnum):
    FINISHED = "finished"  # every page done; the job has its final status
    INACTIVE = "inactive"  # cancelled, or already finished by another task
    BUSY = "busy"  # another task is translating a page of this job
    SLICED = "sliced"  # this task used its time; the job continues in a new task
    STOPPING = "stopping"  # the worker was asked to stop; the job continues in a new task
    DEFERRED = "deferred"  # a page failed for transient reasons; the job continues later (a schedule)


def job_slice_seconds() -> float:
    """How long one task keeps taking pages: a third of the django-q2 timeout, so the page it
    starts last has two thirds of the timeout to finish before django-q2 would kill it."""
    return settings.Q_CLUSTER["timeout"] / 3


def job_run(*, job_id: int, executor: TranslateExecutor | None = None, slice_seconds: float | None = None) -> RunEnd:
    """Translate the job's pending pages in index order until none is left, then finish the job."""
    started = time.monotonic()
    budget = job_slice_seconds() if slice_seconds is None else slice_seconds
    pages_done = 0
    while True:
        if pages_done and time.monotonic() - started > budget:
            job_enqueue(job_id)
            return RunEnd.SLICED
        if stop_requested():  # the cluster is stopping (SIGTERM): the page before this one was the last
            job_enqueue(job_id)
            return RunEnd.STOPPING
        claim = _claim_next_page(job_id)
        if isinstance(claim, RunEnd):
            return claim
        if claim is None:
            if _finish_job(job_id):
                return RunEnd.FINISHED
            continue  # a page was queued again meanwhile
        chosen = executor or get_executor(claim.job.backend)
        if isinstance(chosen, ReadsAhead) and chosen.read_ahead:
            chosen.prefetch(_pages_ahead(claim, chosen.read_ahead))
        if page_execute(result=claim, executor=chosen) == Status.PENDING:
            job_enqueue_later(job_id, seconds=settings.MANGA_CLOUDRUN_RETRY_BUDGET_SEC)
            return RunEnd.DEFERRED
        pages_done += 1


def _pages_ahead(claim: PageResult, depth: int) -> list[PageWork]:
    """The claimed page and the next `depth` pending pages of its job, as the executor reads them.

    Only what reading needs (the bytes and the source language); a page whose file cannot be read is left out and
    fails at its turn as it always did. The next pages are not claimed: a worker that dies leaves them pending.
    """
    job, page = claim.job, claim.page
    upcoming = (
        job.page_results.filter(status=Status.PENDING, page__index__gt=page.index)
        .select_related("page")
        .order_by("page__index")[:depth]
    )
    works = []
    for result in [claim, *upcoming]:
        try:
            data = storage.resolve_path(result.page.image).read_bytes()
        except (OSError, storage.StorageError):
            continue
        works.append(
            PageWork(
                image=data,
                image_name=result.page.image.rsplit("/", 1)[-1],
                source_language=page.chapter.manga.source_language,
                target_language=job.target_language,
                translator=job.translator,
            )
        )
    return works


def _claim_next_page(job_id: int) -> PageResult | RunEnd | None:
    with transaction.atomic():
        # The row lock serialises everything that claims, finishes, retries or cancels this job.
        job = TranslationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in TranslationJob.ACTIVE:
            return RunEnd.INACTIVE
        if job.status == JobStatus.QUEUED:
            job.move_to(JobStatus.RUNNING)
            record_job_started(job)
        results = job.page_results.select_related("page__chapter__manga")
        if results.filter(status=Status.RUNNING).exists():
            return RunEnd.BUSY
        result = results.filter(status=Status.PENDING).order_by("page__index").first()
        if result is None:
            return None
        attempt = result.attempts + 1
        claimed = result.move_to(
            Status.RUNNING,
            where={"attempts": result.attempts},
            attempts=attempt,
            lease_expires_at=timezone.now() + timedelta(seconds=settings.MANGA_PAGE_LEASE_SEC),
            failure_stage="",
            error="",
            finished_at=None,
        )
        if not claimed:
            return RunEnd.BUSY
        record_page_started(result)
    result.job = job
    return result


def _finish_job(job_id: int) -> bool:
    """Give the job its final status once no page is pending or running; False if one is."""
    with transaction.atomic():
        job = TranslationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING:
            return True
        if job.page_results.filter(status__in=(Status.PENDING, Status.RUNNING)).exists():
            return False
        job.refresh_counters()
        if job.pages_failed == 0:
            final = JobStatus.SUCCESS
        elif job.pages_succeeded == 0:
            final = JobStatus.ERROR
        else:
            final = JobStatus.PARTIAL
        error = "" if not job.pages_failed else f"{job.pages_failed} of {job.pages_total} pages failed."
        job.move_to(final, error=error)
        record_job_finished(job)
    logger.info(
        "job %s finished status=%s succeeded=%d failed=%d no_text=%d",
        job_id,
        final,
        job.pages_succeeded,
        job.pages_failed,
        job.pages_no_text,
    )
    return True


@dataclass(frozen=True)
class PageVerdict:
    status: str  # succeeded, no_text or failed
    failure_stage: str = ""
    error: str = ""


def page_verdict(work: PageWork, execution: PageExecution) -> PageVerdict:
    """DESIGN §6: a page succeeds only with output that differs from its input and no copy standing in.

    No region to handle (none found, or only sound effects) is `no_text`: the page is done and
    shown as the original.
    """
    report = execution.report
    handled = report.handled_regions
    if not handled:
        return PageVerdict(Status.NO_TEXT)
    if not execution.image:
        return PageVerdict(Status.FAILED, "encode", "the pipeline returned no image")
    if execution.image == work.image:
        return PageVerdict(Status.FAILED, "encode", "the output is a copy of the original page")
    if not report.cleaning and not report.translated_regions:
        return PageVerdict(
            Status.FAILED, "translate", f"none of the {len(handled)} text regions got a translation (all untranslated)"
        )
    if execution.changed is False:
        return PageVerdict(Status.FAILED, "inpaint", "nothing on the page was erased or lettered")
    return PageVerdict(Status.SUCCEEDED)


def page_execute(*, result: PageResult, executor: TranslateExecutor) -> str:
    """Translate one claimed page and record the outcome; returns the page's new status."""
    job = result.job
    page = result.page
    attempt = result.attempts
    correlation = f"job-{job.pk}/page-{page.index}/try-{attempt}"
    started = time.perf_counter()
    execution: PageExecution | None = None
    transport: ExecutorError | PageExecution | None = None
    output_path = ""
    with _LeaseHeartbeat(result.pk, attempt):
        try:
            data = storage.resolve_path(page.image).read_bytes()
        except (OSError, storage.StorageError) as exc:
            verdict = PageVerdict(Status.FAILED, "load", f"the original page file cannot be read: {exc}")
        else:
            work = PageWork(
                image=data,
                image_name=page.image.rsplit("/", 1)[-1],
                source_language=page.chapter.manga.source_language,
                target_language=job.target_language,
                translator=job.translator,
                context_translations=page_context_translations(job_id=job.pk, before_index=page.index),
                manga_slug=page.chapter.manga.slug,
                learned_glossary=manga_learned_glossary(manga_id=page.chapter.manga_id),
                correlation_id=correlation,
            )
            verdict, execution, transport = _run_executor(executor, work, result)
            if _worth_a_later_try(transport, attempt):
                # The service is down or slow to start past the retry budget: the page waits for its job's next try.
                verdict = PageVerdict(Status.PENDING, verdict.failure_stage, f"{verdict.error}; tried again later")
        if verdict.status == Status.SUCCEEDED and execution is not None:
            _stage_event(result, "store")
            output_path = _output_path(result, storage.ALLOWED_FORMATS.get(execution.image_format, "png"))
            try:
                storage.write_atomic(output_path, execution.image)
            except (OSError, storage.StorageError) as exc:
                verdict, output_path = PageVerdict(Status.FAILED, "store", f"cannot write the output: {exc}"), ""
    recorded = _record(result, verdict, execution, transport, output_path, _ms(started))
    logger.info(
        "page %s status=%s recorded=%s stage=%s elapsed_ms=%d timings_ms=%s executor=%s",
        correlation,
        verdict.status,
        recorded,
        verdict.failure_stage or "-",
        _ms(started),
        (execution.report.timings_ms if execution else {}),
        executor.name,
    )
    return verdict.status


def _worth_a_later_try(transport: ExecutorError | PageExecution | None, attempt: int) -> bool:
    transient = isinstance(transport, ExecutorError) and transport.transient
    return transient and attempt < settings.MANGA_PAGE_MAX_ATTEMPTS


def _run_executor(
    executor: TranslateExecutor, work: PageWork, result: PageResult
) -> tuple[PageVerdict, PageExecution | None, ExecutorError | PageExecution | None]:
    try:
        execution = executor.translate_page(work, on_stage=lambda stage: _stage_event(result, stage))
    except ExecutorError as exc:
        return PageVerdict(Status.FAILED, exc.stage, str(exc)), None, exc
    except Exception as exc:  # a bug in one page must not stop the chapter
        logger.exception("page %s: the executor crashed", work.correlation_id)
        return PageVerdict(Status.FAILED, "internal", f"{type(exc).__name__}: {exc}"), None, None
    return page_verdict(work, execution), execution, execution


def _record(
    result: PageResult,
    verdict: PageVerdict,
    execution: PageExecution | None,
    transport: ExecutorError | PageExecution | None,
    output_path: str,
    elapsed_ms: int,
) -> bool:
    """Store the outcome if the claim is still ours; remove files no row points to any more."""
    report = execution.report if execution else None
    fields: dict[str, object] = {
        "failure_stage": verdict.failure_stage,
        "error": verdict.error,
        "output_path": output_path,
        "lease_expires_at": None,
        "regions": report.regions_to_json() if report else [],
        "timings": {**(report.timings_ms if report else {}), "page_total": elapsed_ms},
        "models_used": dict(report.models) if report else {},
        "fallback_used": bool(execution and execution.fallback_used),
    }
    if transport is not None:
        # Transport numbers add up over attempts: a retried page costs what all its tries cost.
        fields.update(
            request_bytes=result.request_bytes + transport.request_bytes,
            response_bytes=result.response_bytes + transport.response_bytes,
            remote_elapsed_ms=result.remote_elapsed_ms + transport.remote_elapsed_ms,
            translate_elapsed_ms=result.translate_elapsed_ms + transport.translate_elapsed_ms,
        )
    previous_output = result.output_path
    with transaction.atomic():
        TranslationJob.objects.select_for_update().filter(pk=result.job_id).first()
        recorded = result.move_to(verdict.status, where={"attempts": result.attempts}, **fields)
        if recorded:
            result.job.refresh_counters()
            if verdict.status == Status.FAILED:
                record_page_failed(result, failure_stage=verdict.failure_stage, error=verdict.error)
            elif verdict.status == Status.PENDING:
                record_job_queued(result.job_id, [result.page.index], error=verdict.error)
            else:
                record_page_succeeded(result, elapsed_ms=elapsed_ms)
    if recorded and report is not None and report.proposed_terms:
        glossary_propose(manga_id=result.page.chapter.manga_id, proposals=report.proposed_terms, page_id=result.page_id)
    if recorded and previous_output and previous_output != output_path:
        _delete_quietly(previous_output)  # a stale output: the page failed, had no text, or changed format
    if not recorded and output_path:
        # The page was cancelled or re-claimed meanwhile; keep the file only if the row points to it.
        current = PageResult.objects.filter(pk=result.pk).values_list("output_path", flat=True).first()
        if current != output_path:
            _delete_quietly(output_path)
    return recorded


def _stage_event(result: PageResult, stage: str) -> None:
    with transaction.atomic():
        record_page_stage(result, stage)


def _output_path(result: PageResult, extension: str) -> str:
    page = result.page
    return storage.job_output_path(
        manga_slug=page.chapter.manga.slug,
        chapter_slug=page.chapter.slug,
        job_id=result.job_id,
        index=page.index,
        extension=extension,
    )


def _delete_quietly(path: str) -> None:
    try:
        storage.delete(path)
    except (OSError, storage.StorageError) as exc:
        logger.warning("cannot remove stale output %r: %s", path, exc)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


class _LeaseHeartbeat:
    """Extends the page's lease every third of MANGA_PAGE_LEASE_SEC while this process works on it.

    A thread, because the pipeline holds the main thread for seconds to minutes. When the
    process dies the heartbeat stops with it and the lease runs out: that is how the sweeper
    tells a dead worker from a slow page.
    """

    def __init__(self, result_id: int, attempt: int) -> None:
        self.result_id = result_id
        self.attempt = attempt
        self.lease = settings.MANGA_PAGE_LEASE_SEC
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{result_id}", daemon=True)

    def __enter__(self) -> _LeaseHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(self.lease / 3):
                close_old_connections()
                PageResult.objects.filter(pk=self.result_id, status=Status.RUNNING, attempts=self.attempt).update(
                    lease_expires_at=timezone.now() + timedelta(seconds=self.lease)
                )
        except Exception:  # a missed beat only risks a re-queue, which the claim makes harmless
            logger.warning("lease heartbeat of page result %s failed", self.result_id, exc_info=True)
        finally:
            connection.close()
