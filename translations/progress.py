"""Job progress events (DESIGN §7): typed payloads, stored with a per-job sequence number, then rung.

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
from typing import NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.db.models import Max

from translations.models import JobEvent, TranslationJob

logger = logging.getLogger(__name__)

EventType = JobEvent.Type


class JobQueuedPayload(TypedDict):
    pages: list[int]  # indexes of the pages (re)queued


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


class EventMessage(TypedDict):
    """What a WebSocket client receives for each event."""

    type: str
    job: int
    seq: int
    ts: str  # server time the event was written, ISO 8601 with microseconds
    data: dict


def group_name(job_id: int) -> str:
    return f"job-{job_id}"


def event_record(*, job_id: int, type: str, payload: Payload) -> JobEvent:
    """Store the job's next event; call inside the transaction that makes the change it reports.

    The job row is locked until commit, so two writers never take the same seq (PostgreSQL;
    SQLite's IMMEDIATE transactions serialise them anyway). The seq comes from the events
    themselves, so a stale `job.save()` elsewhere cannot make it repeat.
    """
    if transaction.get_autocommit():
        raise RuntimeError("event_record must run inside the transaction of the change it reports")
    TranslationJob.objects.select_for_update().filter(pk=job_id).values_list("pk", flat=True).get()
    seq = (JobEvent.objects.filter(job_id=job_id).aggregate(last=Max("seq"))["last"] or 0) + 1
    TranslationJob.objects.filter(pk=job_id).update(last_event_seq=seq)
    event = JobEvent.objects.create(job_id=job_id, seq=seq, type=type, payload=dict(payload))
    transaction.on_commit(lambda: ring_doorbell(job_id))
    return event


def page_failed_record(result, *, failure_stage: str, error: str) -> JobEvent:
    """The `page.failed` event of one PageResult (a worker's verdict, or the sweeper giving up)."""
    return event_record(
        job_id=result.job_id,
        type=EventType.PAGE_FAILED,
        payload={
            "page_result": result.pk,
            "page": result.page.index,
            "failure_stage": failure_stage,
            "error": error,
            "attempt": result.attempts,
        },
    )


def event_message(event: JobEvent) -> EventMessage:
    return {
        "type": event.type,
        "job": event.job_id,
        "seq": event.seq,
        "ts": event.created_at.isoformat(),
        "data": event.payload,
    }


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
