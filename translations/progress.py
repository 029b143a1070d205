"""Job progress events (DESIGN §7): the event vocabulary, one typed constructor per event, and the doorbell.

This module owns the vocabulary (docs/progress-events.md lists it for the API and the reader):
every event is written by one `record_*` function below, whose payload is a TypedDict, and read
back as a typed `EventMessage`; the WebSocket's first message is a typed `SnapshotMessage`.
Services call the `record_*` functions and build no payload themselves.

Every event is a `JobEvent` row written in the same transaction as the state change it
reports, so the database is the truth. After commit a doorbell (`{"type": "job.event"}`) goes
to the job's channel-layer group; consumers then read the rows they have not sent yet. The
doorbell carries no data: a lost doorbell only delays a client until its next poll.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Iterable
from typing import Literal, NotRequired, TypedDict, cast

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.db.models import Max

from translations.models import JobEvent, PageResult, TranslationJob

logger = logging.getLogger(__name__)

EventType = JobEvent.Type


class JobQueuedPayload(TypedDict):
    pages: list[int]  # indexes of the pages (re)queued
    error: NotRequired[str]  # why, when a page waits for a later try (the compute service is down)


class JobStartedPayload(TypedDict):
    pages_total: int
    translator: str
    backend: str
    target_language: str


class PageStartedPayload(TypedDict):
    page_result: int
    page: int  # the page index, from 1
    attempt: int


class PageStagePayload(TypedDict):
    page_result: int
    page: int
    stage: str  # a pipeline stage ("load" … "encode", local), "remote" (compute service), "store"


class PageSucceededPayload(TypedDict):
    page_result: int
    page: int
    status: str  # "succeeded", or "no_text": done, shown as the original
    regions: int
    elapsed_ms: int
    output_path: str


class PageFailedPayload(TypedDict):
    page_result: int
    page: int
    failure_stage: str
    error: str
    attempt: int


class JobFinishedPayload(TypedDict):
    status: str
    pages_total: int
    pages_succeeded: int
    pages_failed: int
    pages_no_text: int
    transport_ratio: float | None
    error: NotRequired[str]


Payload = (
    JobQueuedPayload
    | JobStartedPayload
    | PageStartedPayload
    | PageStagePayload
    | PageSucceededPayload
    | PageFailedPayload
    | JobFinishedPayload
)


# What a WebSocket client (and `translate_chapter --wait`) receives for each event: one shape per
# type, so a reader that checks `message["type"]` knows the shape of `message["data"]`.
class _Message(TypedDict):
    job: int
    seq: int
    ts: str  # server time the event was written, ISO 8601 with microseconds


class JobQueuedMessage(_Message):
    type: Literal["job.queued"]
    data: JobQueuedPayload


class JobStartedMessage(_Message):
    type: Literal["job.started"]
    data: JobStartedPayload


class PageStartedMessage(_Message):
    type: Literal["page.started"]
    data: PageStartedPayload


class PageStageMessage(_Message):
    type: Literal["page.stage"]
    data: PageStagePayload


class PageSucceededMessage(_Message):
    type: Literal["page.succeeded"]
    data: PageSucceededPayload


class PageFailedMessage(_Message):
    type: Literal["page.failed"]
    data: PageFailedPayload


class JobFinishedMessage(_Message):
    type: Literal["job.finished"]
    data: JobFinishedPayload


EventMessage = (
    JobQueuedMessage
    | JobStartedMessage
    | PageStartedMessage
    | PageStageMessage
    | PageSucceededMessage
    | PageFailedMessage
    | JobFinishedMessage
)


class SnapshotPage(TypedDict):
    page_result: int
    page: int
    status: str
    attempts: int
    failure_stage: str
    error: str
    output_path: str


class SnapshotData(TypedDict):
    status: str
    chapter: str
    target_language: str
    translator: str
    backend: str
    pages_total: int
    pages_succeeded: int
    pages_failed: int
    pages_no_text: int
    transport_ratio: float | None
    error: str
    pages: list[SnapshotPage]


class SnapshotMessage(TypedDict):
    """The first message on a job's socket: the job as the database has it."""

    type: Literal["snapshot"]
    job: int
    seq: int  # events up to this seq are reflected in the snapshot; live events continue after it
    data: SnapshotData
    ts: NotRequired[str]  # set by the consumer as it sends


def group_name(job_id: int) -> str:
    return f"job-{job_id}"


# --- The events, one constructor each: call inside the transaction of the change it reports ----


def record_job_queued(job_id: int, pages: Iterable[int], *, error: str = "") -> JobEvent:
    """`job.queued`: pages were (re)queued (a request, a retry, the sweeper recovering one, or a page
    left for a later try, with the `error` that made it wait)."""
    payload = JobQueuedPayload(pages=list(pages))
    if error:
        payload["error"] = error
    return _write_event(job_id, EventType.JOB_QUEUED, payload)


def record_job_started(job: TranslationJob) -> JobEvent:
    payload = JobStartedPayload(
        pages_total=job.pages_total,
        translator=job.translator,
        backend=job.backend,
        target_language=job.target_language,
    )
    return _write_event(job.pk, EventType.JOB_STARTED, payload)


def record_page_started(result: PageResult) -> JobEvent:
    """`page.started`: a worker claimed the page for its try `result.attempts`."""
    payload = PageStartedPayload(page_result=result.pk, page=result.page.index, attempt=result.attempts)
    return _write_event(result.job_id, EventType.PAGE_STARTED, payload)


def record_page_stage(result: PageResult, stage: str) -> JobEvent:
    payload = PageStagePayload(page_result=result.pk, page=result.page.index, stage=stage)
    return _write_event(result.job_id, EventType.PAGE_STAGE, payload)


def record_page_succeeded(result: PageResult, *, elapsed_ms: int) -> JobEvent:
    """`page.succeeded` (status `succeeded` or `no_text`), from the result as just recorded."""
    payload = PageSucceededPayload(
        page_result=result.pk,
        page=result.page.index,
        status=result.status,
        regions=len(result.regions),
        elapsed_ms=elapsed_ms,
        output_path=result.output_path,
    )
    return _write_event(result.job_id, EventType.PAGE_SUCCEEDED, payload)


def record_page_failed(result: PageResult, *, failure_stage: str, error: str) -> JobEvent:
    """`page.failed` of one PageResult (a worker's verdict, or the sweeper giving up)."""
    payload = PageFailedPayload(
        page_result=result.pk,
        page=result.page.index,
        failure_stage=failure_stage,
        error=error,
        attempt=result.attempts,
    )
    return _write_event(result.job_id, EventType.PAGE_FAILED, payload)


def record_job_finished(job: TranslationJob) -> JobEvent:
    """`job.finished`: the job's final status and counters (a worker finishing it, or a cancel)."""
    payload = JobFinishedPayload(
        status=job.status,
        pages_total=job.pages_total,
        pages_succeeded=job.pages_succeeded,
        pages_failed=job.pages_failed,
        pages_no_text=job.pages_no_text,
        transport_ratio=job.transport_ratio,
    )
    if job.error:
        payload["error"] = job.error
    return _write_event(job.pk, EventType.JOB_FINISHED, payload)


def _write_event(job_id: int, type: str, payload: Payload) -> JobEvent:
    """Store the job's next event; call inside the transaction that makes the change it reports.

    The job row is locked until commit, so two writers never take the same seq (PostgreSQL;
    SQLite's IMMEDIATE transactions serialise them anyway). The seq comes from the events
    themselves, so a stale `job.save()` elsewhere cannot make it repeat.
    """
    if transaction.get_autocommit():
        raise RuntimeError("events must be recorded inside the transaction of the change they report")
    TranslationJob.objects.select_for_update().filter(pk=job_id).values_list("pk", flat=True).get()
    seq = (JobEvent.objects.filter(job_id=job_id).aggregate(last=Max("seq"))["last"] or 0) + 1
    TranslationJob.objects.filter(pk=job_id).update(last_event_seq=seq)
    event = JobEvent.objects.create(job_id=job_id, seq=seq, type=type, payload=dict(payload))
    transaction.on_commit(lambda: ring_doorbell(job_id))
    return event


# --- Reading them back ---------------------------------------------------------------------------


def event_message(event: JobEvent) -> EventMessage:
    # The row was written by one of the constructors above, so its payload has the type's shape.
    message = {
        "type": event.type,
        "job": event.job_id,
        "seq": event.seq,
        "ts": event.created_at.isoformat(),
        "data": event.payload,
    }
    return cast(EventMessage, message)


def snapshot_message(job: TranslationJob, results: Iterable[PageResult]) -> SnapshotMessage:
    """The job and its pages as they stand, with the seq of the last event they include."""
    pages = [
        SnapshotPage(
            page_result=result.pk,
            page=result.page.index,
            status=result.status,
            attempts=result.attempts,
            failure_stage=result.failure_stage,
            error=result.error,
            output_path=result.output_path,
        )
        for result in results
    ]
    data = SnapshotData(
        status=job.status,
        chapter=str(job.chapter),
        target_language=job.target_language,
        translator=job.translator,
        backend=job.backend,
        pages_total=job.pages_total,
        pages_succeeded=job.pages_succeeded,
        pages_failed=job.pages_failed,
        pages_no_text=job.pages_no_text,
        transport_ratio=job.transport_ratio,
        error=job.error,
        pages=pages,
    )
    return SnapshotMessage(type="snapshot", job=job.pk, seq=job.last_event_seq, data=data)


# --- The doorbell --------------------------------------------------------------------------------


def ring_doorbell(job_id: int) -> None:
    """Tell the job's watchers to read the database now. Never fails nor blocks the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # Only watchers in this very process can hear it (the web process: admin actions).
        _send(job_id)
    else:
        _RedisDoorbell.for_this_process().ring(job_id)


def _send(job_id: int) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group_name(job_id), {"type": "job.event"})
    except Exception:  # Redis down: watchers still poll, the job must go on
        logger.warning("progress doorbell for job %s not rung", job_id, exc_info=True)


class _RedisDoorbell:
    """Rings from one background thread with its own event loop, so the Redis connection is kept
    (a fresh `async_to_sync` per event costs a new connection, ~3 ms) and the worker never waits.
    Doorbells for one job that queue up while one is sent are rung once."""

    _instance: _RedisDoorbell | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.pending: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="progress-doorbell", daemon=True)
        self.thread.start()

    @classmethod
    def for_this_process(cls) -> _RedisDoorbell:
        with cls._lock:
            # A forked child inherits the object but not the thread: it makes its own.
            if cls._instance is None or cls._instance.pid != os.getpid():
                cls._instance = cls()
            return cls._instance

    def ring(self, job_id: int) -> None:
        self.pending.put(job_id)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        layer = get_channel_layer()
        while True:
            jobs = {self.pending.get()}
            while not self.pending.empty():
                jobs.add(self.pending.get())
            for job_id in sorted(jobs):
                try:
                    loop.run_until_complete(layer.group_send(group_name(job_id), {"type": "job.event"}))
                except Exception:  # Redis down: watchers still poll, the job must go on
                    logger.warning("progress doorbell for job %s not rung", job_id, exc_info=True)
