"""The job WebSocket with an API token in Sec-WebSocket-Protocol (ws_auth.py), in process."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission

from translations.api.ws_auth import TokenSubprotocolMiddleware
from translations.models import Manga
from translations.routing import websocket_urlpatterns
from translations.services.jobs import chapter_request_translation
from translations.services.tokens import token_create, token_revoke
from translations.tests.job_helpers import make_chapter

pytestmark = pytest.mark.django_db(transaction=True)

APPLICATION = AuthMiddlewareStack(TokenSubprotocolMiddleware(URLRouter(websocket_urlpatterns)))


def handshake(path: str, subprotocols: list[str]) -> tuple[bool, object, dict | None]:
    async def run():
        communicator = WebsocketCommunicator(APPLICATION, path, subprotocols=subprotocols)
        connected, detail = await communicator.connect(timeout=5)
        first = await communicator.receive_json_from(timeout=5) if connected else None
        await communicator.disconnect()
        return connected, detail, first

    return async_to_sync(run)()


@pytest.fixture
def watcher(staff):
    """Staff who may watch jobs: as in the admin, with the view permission on jobs."""
    staff.user_permissions.add(Permission.objects.get(codename="view_translationjob"))
    return type(staff).objects.get(pk=staff.pk)


@pytest.fixture
def job(staff):
    return chapter_request_translation(chapter=make_chapter(1), translator="test", requested_by=staff, enqueue=False)


def test_a_staff_token_opens_the_socket_and_the_server_answers_without_echoing_it(watcher, job):
    secret = token_create(user=watcher, name="ws").secret

    connected, subprotocol, snapshot = handshake(f"/ws/jobs/{job.pk}/", ["mangasite", f"bearer.{secret}"])

    assert connected
    assert subprotocol == "mangasite"
    assert snapshot["type"] == "snapshot"
    assert snapshot["job"] == job.pk


@pytest.mark.parametrize("state", ["revoked", "unknown", "two tokens"])
def test_a_bad_token_is_refused_at_the_handshake(watcher, job, state):
    issued = token_create(user=watcher, name="ws")
    protocols = ["mangasite", f"bearer.{issued.secret}"]
    if state == "revoked":
        token_revoke(token=issued.token)
    elif state == "unknown":
        protocols[1] = "bearer.msk_nothing"
    else:
        protocols.append(f"bearer.{token_create(user=watcher, name='ws2').secret}")

    connected, code, _ = handshake(f"/ws/jobs/{job.pk}/", protocols)

    assert not connected
    assert code == 1000  # refused before accept: the server closes the handshake (HTTP 403 under daphne)


def test_a_readers_token_watches_jobs_of_readable_manga_only(reader, job):
    secret = token_create(user=reader, name="ws").secret
    protocols = ["mangasite", f"bearer.{secret}"]

    readable, _, _ = handshake(f"/ws/jobs/{job.pk}/", protocols)
    Manga.objects.update(private=True)
    private, _, _ = handshake(f"/ws/jobs/{job.pk}/", protocols)

    assert (readable, private) == (True, False)
