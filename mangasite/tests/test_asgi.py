"""The ASGI application routes HTTP to Django and WebSockets to the Channels router."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator, WebsocketCommunicator

from mangasite.asgi import application


@pytest.mark.django_db(transaction=True)
def test_http_requests_reach_django():
    async def fetch():
        return await HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")]).get_response()

    response = async_to_sync(fetch)()
    assert response["status"] == 200
    assert b'"status": "ok"' in response["body"]


def test_a_websocket_from_a_foreign_origin_is_refused():
    async def connect():
        communicator = WebsocketCommunicator(application, "/ws/jobs/1/", headers=[(b"origin", b"https://evil.example")])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(connect)() is False
