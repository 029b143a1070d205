"""Download progress events: typed payloads, stored with a per-download sequence number, then rung.

The same scheme as translation jobs (translations/progress.py): each `DownloadEvent` row is
written in the transaction of the change it reports; after commit a data-less doorbell goes to
the download's channel-layer group and the consumer (scraper/consumers.py) reads the rows it has
not sent. Download events come a few per second at most, so the doorbell is a plain
`group_send` per event.
"""

from __future__ import annotations

import logging
from typing import NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max

from scraper.models import Download, DownloadEvent

logger = logging.getLogger(__name__)

EventType = DownloadEvent.Type


class DownloadQueuedPayload(TypedDict):
    chapter_url: str
    pages: list[int]  # indexes (re)queued; empty before the chapter's images are listed


class DownloadStartedPayload(TypedDict):
    attempt: int
    pages_total: int
    pages_stored: int  # stored by an earlier attempt, not fetched again


class PageStoredPayload(TypedDict):
    page: int
    size_bytes: int


class PageFailedPayload(TypedDict):
    page: int
    error_code: str
    error: str


class DownloadFinishedPayload(TypedDict):
    status: str
    pages_total: int
    pages_stored: int
    pages_failed: int
    chapter: int | None  # the library chapter, once imported
    translation_job: int | None
    error_code: NotRequired[str]
    error: NotRequired[str]


Payload = (
    DownloadQueuedPayload | DownloadStartedPayload | PageStoredPayload | PageFailedPayload | DownloadFinishedPayload
)


class DownloadEventMessage(TypedDict):
    """What a WebSocket client receives for each event."""

    type: str
    download: int
    seq: int
    ts: str
    data: dict


def group_name(download_id: int) -> str:
    return f"download-{download_id}"


def download_event_record(*, download_id: int, type: str, payload: Payload) -> DownloadEvent:
    """Store the download's next event; call inside the transaction of the change it reports."""
    if transaction.get_autocommit():
        raise RuntimeError("download_event_record must run inside the transaction of the change it reports")
    Download.objects.select_for_update().filter(pk=download_id).values_list("pk", flat=True).get()
    seq = (DownloadEvent.objects.filter(download_id=download_id).aggregate(last=Max("seq"))["last"] or 0) + 1
    Download.objects.filter(pk=download_id).update(last_event_seq=seq)
    event = DownloadEvent.objects.create(download_id=download_id, seq=seq, type=type, payload=dict(payload))
    transaction.on_commit(lambda: ring_doorbell(download_id))
    return event


def finished_payload(download: Download) -> DownloadFinishedPayload:
    payload: DownloadFinishedPayload = {
        "status": download.status,
        "pages_total": download.pages_total,
        "pages_stored": download.pages_stored,
        "pages_failed": download.pages_failed,
        "chapter": download.chapter_id,
        "translation_job": download.translation_job_id,
    }
    if download.error_code:
        payload["error_code"] = download.error_code
    if download.error:
        payload["error"] = download.error
    return payload


def event_message(event: DownloadEvent) -> DownloadEventMessage:
    return {
        "type": event.type,
        "download": event.download_id,
        "seq": event.seq,
        "ts": event.created_at.isoformat(),
        "data": event.payload,
    }


def ring_doorbell(download_id: int) -> None:
    """Tell the download's watchers to read the database now. Never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(download_id), {"type": "download.event"})
    except Exception:  # Redis down: watchers still poll, the download must go on
        logger.warning("progress doorbell for download %s not rung", download_id, exc_info=True)
