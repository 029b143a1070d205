"""Live progress holds up: an idle socket on Redis stays open, junk frames get an error frame, access as in admin."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from mangasite.asgi import application
from mangasite.ws_origin import origin_allowed
from translations.routing import websocket_urlpatterns
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import make_chapter, make_staff

pytestmark = pytest.mark.django_db(transaction=True)


def new_job():
    return chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)


async def open_socket(path: str, user) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the Redis channel layer only")
def test_an_idle_progress_socket_on_redis_stays_open_past_ten_seconds(settings):
    settings.MANGA_PROGRESS_POLL_MS = 60_000  # nothing but the channel layer's blocking reads while idle
    staff, job = make_staff(), new_job()

    async def idle() -> dict:
        communicator, _snapshot = await open_socket(f"/ws/jobs/{job.pk}/", staff)
        # channels-redis blocks 5 s per read; a socket timeout of 5 s broke the read and closed the socket (1011).
        assert await communicator.receive_nothing(timeout=12, interval=0.5)
        await communicator.send_json_to({"type": "resume", "after": 0})
        answer = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return answer

    assert async_to_sync(idle)()["type"] == "job.queued"


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "frames must be JSON objects"),
        ('{"type": "resume", "after": 1e400}', "after must be a whole sequence number"),
        ('{"type": "resume", "after": "x"}', "after must be a whole sequence number"),
        ('{"type": "resume", "after": 1.5}', "after must be a whole sequence number"),
        ("[1, 2]", 'the only frame understood is {"type": "resume", ...}'),
    ],
)
def test_a_frame_it_cannot_use_gets_an_error_frame_and_the_socket_stays_open(frame, error):
    staff, job = make_staff(), new_job()

    async def send_junk() -> tuple[dict, dict]:
        communicator, _snapshot = await open_socket(f"/ws/jobs/{job.pk}/", staff)
        await communicator.send_to(text_data=frame)
        answer = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "resume", "after": 0})
        still_open = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return answer, still_open

    answer, still_open = async_to_sync(send_junk)()
    assert answer == {"type": "error", "error": error}
    assert still_open["type"] == "job.queued"


def test_a_huge_after_in_the_query_string_is_clamped_not_a_database_error():
    staff, job = make_staff(), new_job()

    async def resume() -> bool:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/?after={10**30}")
        communicator.scope["user"] = staff
        connected, _ = await communicator.connect()
        nothing = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return connected and nothing

    assert async_to_sync(resume)() is True


def test_staff_without_the_view_permission_may_not_watch_a_job_as_in_the_admin(client):
    job = new_job()
    unprivileged = make_staff("no-perms", permissions=())
    client.force_login(unprivileged)
    assert client.get(f"/admin/translations/translationjob/{job.pk}/change/").status_code == 403

    async def try_connect(user) -> bool:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(try_connect)(unprivileged) is False
    assert async_to_sync(try_connect)(make_staff("viewer")) is True


@pytest.mark.parametrize(
    ("host", "origin", "scheme", "allowed"),
    [
        ("localhost:8000", "http://localhost:8000", "ws", True),
        ("localhost", "http://localhost", "ws", True),
        ("localhost", "http://localhost:80", "ws", True),
        ("localhost:8000", "http://localhost:8001", "ws", False),  # another port
        ("localhost:8000", "https://localhost:8000", "ws", False),  # another scheme
        ("localhost", "https://localhost", "wss", True),
        ("localhost", "http://localhost", "wss", False),
        ("localhost", "https://evil.example", "ws", False),
        ("evil.example", "http://evil.example", "ws", False),  # not an allowed host
        ("localhost", "", "ws", False),  # no Origin
        ("localhost", "null", "ws", False),
    ],
)
def test_the_origin_must_match_scheme_host_and_port(host, origin, scheme, allowed):
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    assert origin_allowed({"type": "websocket", "scheme": scheme, "headers": headers}) is allowed


def test_a_trusted_origin_from_the_csrf_settings_is_allowed(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://manga.example.org"]
    headers = [(b"host", b"localhost:8001"), (b"origin", b"https://manga.example.org")]
    assert origin_allowed({"type": "websocket", "scheme": "ws", "headers": headers}) is True


def test_a_signed_in_watcher_connects_through_the_site_only_from_its_own_origin(client):
    job = new_job()
    client.force_login(make_staff())
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"

    async def handshake(origin: bytes) -> bool:
        headers = [(b"host", b"localhost:8001"), (b"origin", origin), (b"cookie", cookie.encode())]
        communicator = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/", headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(handshake)(b"http://localhost:8001") is True
    assert async_to_sync(handshake)(b"http://localhost:9999") is False


def test_an_anonymous_healthz_names_no_database_error(client, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self, *args, **kwargs):
        raise RuntimeError("password authentication failed for user secret-admin")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert "secret-admin" not in response.content.decode()
