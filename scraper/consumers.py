"""WebSocket `/ws/downloads/<id>/`: a snapshot of the download, then its progress events in order (staff only).

The same shape as the job consumer (translations/consumers.py): the database is the truth, the
doorbell (`download.event`) and a timer (`MANGA_PROGRESS_POLL_MS`) say when to read it.
`?after=<seq>` resumes without a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from scraper.progress import group_name
from scraper.selectors import download_events_after, download_snapshot, download_visible_to


class DownloadProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.download_id = int(self.scope["url_route"]["kwargs"]["download_id"])
        self.sent_seq = 0
        self.poller: asyncio.Task | None = None
        self.delivering = asyncio.Lock()
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(download_visible_to)(
            download_id=self.download_id, user=user
        ):
            await self.close()  # before accept: the handshake is refused with 403
            return
        if self.channel_layer is not None:
            await self.channel_layer.group_add(group_name(self.download_id), self.channel_name)
        await self.accept()
        after = _after(self.scope.get("query_string", b""))
        if after is None:
            snapshot = await database_sync_to_async(download_snapshot)(download_id=self.download_id)
            if snapshot is None:
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
            await self.channel_layer.group_discard(group_name(self.download_id), self.channel_name)

    async def download_event(self, message: dict) -> None:
        await self.deliver()

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(settings.MANGA_PROGRESS_POLL_MS / 1000)
            await self.deliver()

    async def deliver(self) -> None:
        async with self.delivering:
            while True:
                events = await database_sync_to_async(download_events_after)(
                    download_id=self.download_id, after_seq=self.sent_seq
                )
                for event in events:
                    await self.send_json(event)
                    self.sent_seq = event["seq"]
                if len(events) < 500:
                    return


def _after(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("after")
    if not values:
        return None
    try:
        return max(int(values[0]), 0)
    except ValueError:
        return None
