"""Live progress over /ws/jobs/<id>/ (consumers.py), in process: who may watch, snapshot, events, resuming."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from translations.models import Manga
from translations.routing import websocket_urlpatterns
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter, make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_poll(settings):
    settings.MANGA_PROGRESS_POLL_MS = 50


def new_job(pages: int = 2, requested_by=None):
    return chapter_request_translation(
        chapter=make_chapter(pages), translator="test", requested_by=requested_by, enqueue=False
    )


async def connect(path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    return communicator


async def receive_until(communicator, event_type: str, limit: int = 50) -> list[dict]:
    messages = []
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=5)
        messages.append(message)
        if message["type"] == event_type:
            return messages
    raise AssertionError(f"no {event_type} in {messages}")


def test_staff_get_a_snapshot_then_every_event_of_the_job_in_order():
    staff = make_staff()
    job = new_job(2)

    async def watch():
        communicator = await connect(f"/ws/jobs/{job.pk}/", staff)
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(job_run)(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))
        events = await receive_until(communicator, "job.finished")
        await communicator.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(watch)()

    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == 1  # the job.queued event of the request
    assert snapshot["data"]["status"] == "queued"
    assert [(p["page"], p["status"]) for p in snapshot["data"]["pages"]] == [(1, "pending"), (2, "pending")]
    assert [e["seq"] for e in events] == list(range(2, 2 + len(events)))
    assert [e["type"] for e in events] == [
        "job.started",
        "page.started",
        "page.stage",
        "page.stage",
        "page.succeeded",
        "page.started",
        "page.stage",
        "page.failed",
        "job.finished",
    ]
    assert all(e["job"] == job.pk and e["ts"] for e in events)
    assert events[-1]["data"]["status"] == "partial"
    assert events[7]["data"]["error"] == "page 2 cannot be read"


def test_a_client_that_reconnects_after_a_seq_gets_only_what_it_missed():
    staff = make_staff()
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    async def resume():
        communicator = await connect(f"/ws/jobs/{job.pk}/?after=4", staff)
        assert (await communicator.connect())[0]
        events = await receive_until(communicator, "job.finished")
        await communicator.send_json_to({"type": "resume", "after": 6})
        again = await receive_until(communicator, "job.finished")
        await communicator.disconnect()
        return events, again

    events, again = async_to_sync(resume)()

    assert [(e["seq"], e["type"]) for e in events] == [(5, "page.stage"), (6, "page.succeeded"), (7, "job.finished")]
    assert [e["seq"] for e in again] == [7]


def test_whoever_may_read_the_manga_may_watch_its_jobs(settings):
    # translations/access.py: the reader's live pages need the progress of a job someone else asked for.
    reader = get_user_model().objects.create_user("reader", password="x")
    staff = make_staff()
    job = new_job(1, requested_by=staff)

    async def try_connect(user) -> bool:
        communicator = await connect(f"/ws/jobs/{job.pk}/", user)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(try_connect)(reader) is True
    assert async_to_sync(try_connect)(AnonymousUser()) is False
    settings.MANGA_PUBLIC_LIBRARY = True
    assert async_to_sync(try_connect)(AnonymousUser()) is True  # a public library's readers see pages arrive
    Manga.objects.filter(pk=job.chapter.manga_id).update(private=True)
    assert async_to_sync(try_connect)(reader) is False
    assert async_to_sync(try_connect)(staff) is True


def test_a_job_that_does_not_exist_is_refused():
    staff = make_staff()

    async def try_connect() -> bool:
        communicator = await connect("/ws/jobs/999999/", staff)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(try_connect)() is False
