"""Download progress over the WebSocket: a snapshot, then the download's events in order; staff only."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from scraper.routing import websocket_urlpatterns
from scraper.services.downloads import download_request, download_run
from scraper.tests.helpers import chapter_choice, make_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_poll(settings):
    settings.MANGA_PROGRESS_POLL_MS = 50


def new_download(site, chapter_slug="chapter-3", number="3"):
    download, _ = download_request(
        source=make_source(site),
        manga_url=f"{site.url}manga/blue-sky/",
        manga_title="Blue Sky",
        chapter=chapter_choice(site, "blue-sky", chapter_slug, number),
        enqueue=False,
    )
    return download


async def connect(download_id: int, user, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/downloads/{download_id}/{query}")
    communicator.scope["user"] = user
    return communicator


def test_staff_get_a_snapshot_then_every_event_in_order(site):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    download = new_download(site)

    async def watch():
        communicator = await connect(download.pk, staff)
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(download_run)(download_id=download.pk)
        events = []
        while not events or events[-1]["type"] != "download.finished":
            events.append(await communicator.receive_json_from(timeout=10))
        await communicator.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(watch)()
    assert snapshot["type"] == "snapshot" and snapshot["data"]["status"] == "queued" and snapshot["seq"] == 1
    assert [e["seq"] for e in events] == list(range(2, 2 + len(events)))
    assert events[0]["type"] == "download.started"
    assert sorted(e["data"]["page"] for e in events if e["type"] == "download.page_stored") == [1, 3]
    (failed,) = [e for e in events if e["type"] == "download.page_failed"]
    assert failed["data"]["page"] == 2 and failed["data"]["error_code"] == "not_image"
    assert events[-1]["data"]["status"] == "partial" and events[-1]["data"]["error_code"] == "pages_failed"


def test_a_client_resumes_after_a_seq(site):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    download = new_download(site, "chapter-1", "1")
    download_run(download_id=download.pk)

    async def resume():
        communicator = await connect(download.pk, staff, "?after=5")
        await communicator.connect()
        events = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        await communicator.disconnect()
        return events

    events = async_to_sync(resume)()
    assert [(e["seq"], e["type"]) for e in events] == [(6, "download.page_stored"), (7, "download.finished")]


@pytest.mark.parametrize("who", ["reader", "anonymous"])
def test_non_staff_are_refused(site, who):
    download = new_download(site)
    user = AnonymousUser() if who == "anonymous" else get_user_model().objects.create_user("reader", password="pw")

    async def try_connect():
        communicator = await connect(download.pk, user)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(try_connect)() is False
