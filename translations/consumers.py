"""WebSocket `/ws/jobs/<id>/`: a snapshot of the job from the database, then its progress events in order.

Thin on purpose: check the user, then forward rows of `JobEvent`. New rows are read when the
channel-layer doorbell rings (Redis: workers ring it after each commit) and on a timer
(`MANGA_PROGRESS_POLL_MS`): in the embedded setup the in-memory layer cannot carry a doorbell
from a worker process, so the timer is the path; with Redis it only covers a lost doorbell.

A client resumes with `?after=<seq>` (or by sending `{"type": "resume", "after": <seq>}`) and
gets every event after that seq, without a snapshot. A frame that is not such a JSON object gets
an `{"type": "error", ...}` frame back and the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from translations.api.ws_auth import accepted_subprotocol
from translations.progress import group_name
from translations.selectors import job_events_after, job_snapshot, job_visible_to
from translations.services.telemetry import events_mark_delivered


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        self.sent_seq = 0
        self.poller: asyncio.Task | None = None
        self.delivering = asyncio.Lock()
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(job_visible_to)(job_id=self.job_id, user=user):
            await self.close()  # before accept: the handshake is refused with 403
            return
        after = _after(self.scope.get("query_string", b""))
        if self.channel_layer is not None:
            await self.channel_layer.group_add(group_name(self.job_id), self.channel_name)
        await self.accept(subprotocol=accepted_subprotocol(self.scope))
        if after is None:
            snapshot = await database_sync_to_async(job_snapshot)(job_id=self.job_id)
            if snapshot is None:  # deleted a moment ago
                await self.close(code=4404)
                return
            snapshot["ts"] = timezone.now().isoformat()
            await self.send_json(snapshot)
            self.sent_seq = snapshot["seq"]
        else:
            self.sent_seq = after
        await self.deliver()
        self.poller = asyncio.create_task(self.poll())

    async def disconnect(self, code) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.channel_layer is not None:
            await self.channel_layer.group_discard(group_name(self.job_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            content = json.loads(text_data if text_data is not None else bytes_data or b"")
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            await self.send_json({"type": "error", "error": "frames must be JSON objects"})
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "resume":
            await self.send_json({"type": "error", "error": 'the only frame understood is {"type": "resume", ...}'})
            return
        after = _sequence(content.get("after", 0))
        if after is None:
            await self.send_json({"type": "error", "error": "after must be a whole sequence number"})
            return
        async with self.delivering:
            self.sent_seq = after
        await self.deliver()

    async def job_event(self, message: dict) -> None:
        """The doorbell: new events were committed for this job."""
        await self.deliver()

    async def poll(self) -> None:
        interval = settings.MANGA_PROGRESS_POLL_MS / 1000
        while True:
            await asyncio.sleep(interval)
            await self.deliver()

    async def deliver(self) -> None:
        async with self.delivering:
            while True:
                events = await database_sync_to_async(job_events_after)(job_id=self.job_id, after_seq=self.sent_seq)
                for event in events:
                    await self.send_json(event)
                    self.sent_seq = event["seq"]
                if events:  # after the sends: the stamp is for the progress-delay figure, never in its way
                    await database_sync_to_async(events_mark_delivered)(
                        job_id=self.job_id, first_seq=events[0]["seq"], last_seq=events[-1]["seq"]
                    )
                if len(events) < 500:
                    return


MAX_SEQ = 2**63 - 1  # a bigint column: larger numbers would fail the query, not just match nothing


def _sequence(value) -> int | None:
    """A seq from a client: a whole number (or its digits), clamped to 0..MAX_SEQ; None for anything else."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None  # floats too: 1e400 is infinity, 1.5 is no seq
    return min(max(value, 0), MAX_SEQ)


def _after(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("after")
    return _sequence(values[0]) if values else None
