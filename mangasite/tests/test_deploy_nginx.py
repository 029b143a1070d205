"""deploy/nginx/mangasite.conf with Debian's nginx in front of live gunicorn and daphne, on loopback ports.

The shipped file is used as it is, with only its paths, ports and certificate substituted.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from datetime import timedelta
from decimal import Decimal

import numpy
import pytest
import requests
from django.conf import settings as django_settings
from django.shortcuts import resolve_url
from PIL import Image
from websockets.sync.client import connect as ws_connect

from mangasite.tests.serving import ServingStack, nginx_missing
from translations.models import Chapter, JobEvent, Manga
from translations.services.jobs import chapter_request_translation, job_cancel
from translations.tests.job_helpers import make_staff, page_image
from translations.tests.library import store_page
from translations.tests.live_stack import session_of
from translations.tests.test_media import jpeg_bytes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(nginx_missing()), reason=nginx_missing() or ""),
]


@pytest.fixture
def stack(data_dir, tmp_path):
    stack = ServingStack(data_dir, tmp_path)
    yield stack
    stack.stop()
    print(stack.logs())  # shown by pytest only when the test fails


def browser(stack: ServingStack, user=None) -> requests.Session:
    session = requests.Session()
    session.verify = str(stack.certificate)
    session.trust_env = False  # a CA bundle from the environment would override it
    if user is not None:
        session.cookies.set(django_settings.SESSION_COOKIE_NAME, session_of(user), domain="127.0.0.1")
    return session


def gunicorn_saw(stack: ServingStack, path: str) -> bool:
    return path in (stack.log_dir / "gunicorn.log").read_text()


def test_images_go_to_readers_only_through_nginx_and_the_data_directory_is_never_served(stack, django_user_model):
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    page = store_page(Chapter.objects.create(manga=manga, number=Decimal("1")), 1, jpeg_bytes(300, 400))
    secret = Manga.objects.create(slug="secret", title="Secret", private=True)
    private_page = store_page(Chapter.objects.create(manga=secret, number=Decimal("1")), 1, jpeg_bytes(200, 200))
    raw = (stack.data_dir / page.image).read_bytes()
    reader = django_user_model.objects.create_user(username="reader", password="a long password 1")
    stack.collectstatic()
    stack.start_web()
    stack.start("daphne")
    stack.start_nginx()
    signed_in, anonymous = browser(stack, reader), browser(stack)
    image_url = f"{stack.url}/media/pages/{page.pk}/image"

    response = signed_in.get(image_url)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content == raw
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in response.headers  # nginx consumed it
    thumbnail = signed_in.get(f"{stack.url}/media/pages/{page.pk}/thumbnail")
    assert (thumbnail.status_code, thumbnail.headers["Content-Type"]) == (200, "image/jpeg")
    assert thumbnail.content[:3] == b"\xff\xd8\xff"

    refused = anonymous.get(image_url, allow_redirects=False)
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith(resolve_url(django_settings.LOGIN_URL))
    assert raw not in refused.content
    # A manga the reader may not read answers like a page that does not exist.
    hidden = signed_in.get(f"{stack.url}/media/pages/{private_page.pk}/image")
    assert hidden.status_code == 404
    assert b"\xff\xd8\xff" not in hidden.content[:3]
    missing = signed_in.get(f"{stack.url}/media/pages/999999/image")
    assert missing.status_code == 404

    # The data directory, directly or through the internal locations, is never served.
    (stack.data_dir / "secret_key").write_text("not for anyone")
    for path in (
        f"/data/{page.image}",
        f"/{page.image}",
        f"/_protected/{page.image}",
        "/_protected/secret_key",
        "/_protected/raw/../secret_key",
        "/data/secret_key",
    ):
        for client in (signed_in, anonymous):
            answer = client.get(stack.url + path, allow_redirects=False)
            assert answer.status_code in (400, 404), (path, answer.status_code)
            assert raw not in answer.content and b"not for anyone" not in answer.content, path

    # Static files come from nginx (gunicorn never sees them), gzipped, with nginx's headers.
    css = signed_in.get(f"{stack.url}/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Content-Encoding"] == "gzip"
    assert css.headers["Cache-Control"] == "public, max-age=2592000"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    assert not gunicorn_saw(stack, "/static/admin/css/base.css")
    assert gunicorn_saw(stack, f"/media/pages/{page.pk}/image")
    assert signed_in.get(f"{stack.url}/static/admin/css/no-such.css").status_code == 404

    # Plain HTTP only redirects to HTTPS.
    plain_url = f"http://127.0.0.1:{stack.http_port}/media/pages/{page.pk}/image"
    plain = requests.get(plain_url, allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://127.0.0.1/media/pages/{page.pk}/image"


def test_progress_sockets_upgrade_through_nginx_and_a_large_cbz_upload_goes_through(stack, data_dir):
    staff = make_staff()
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    chapter = Chapter.objects.create(manga=manga, number=Decimal("1"))
    store_page(chapter, 1, page_image(1))
    job = chapter_request_translation(chapter=chapter, translator="test", backend="local")
    stack.collectstatic()  # the manga page links its CSS through the static manifest
    stack.start_web()
    stack.start("daphne")
    stack.start_nginx()

    with ws_connect(
        f"wss://127.0.0.1:{stack.https_port}/ws/jobs/{job.pk}/",
        origin=stack.url,
        additional_headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session_of(staff)}"},
        ssl=stack.tls_context(),
        open_timeout=10,
    ) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
        assert (snapshot["type"], snapshot["data"]["status"]) == ("snapshot", "queued")
        job_cancel(job=job, requested_by=staff)  # written here, sent by daphne through nginx
        event = json.loads(socket.recv(timeout=10))
    assert event["type"] == "job.finished"
    assert event["data"]["status"] == "cancelled"
    assert event["seq"] == snapshot["seq"] + 1
    # daphne stamped the first delivery: the progress-delay figure of /metrics.
    finished = JobEvent.objects.get(job=job, seq=event["seq"])
    deadline = time.monotonic() + 5
    while finished.delivered_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
        finished.refresh_from_db()
    assert finished.delivered_at is not None
    assert timedelta(0) <= finished.delivered_at - finished.created_at < timedelta(seconds=5)

    # A CBZ of about 72 MiB (three 24 MiB PNG pages of noise, stored uncompressed: many bytes, cheap
    # to decode) uploaded by staff through nginx: nginx buffers it to disk, gunicorn's worker imports
    # it with the default timeout, and every page arrives intact.
    rng = numpy.random.default_rng(14)
    archive = io.BytesIO()
    sent: list[str] = []
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as cbz:
        for index in range(1, 4):
            buffer = io.BytesIO()
            noise = rng.integers(0, 256, size=(3300, 2400, 3), dtype=numpy.uint8)
            Image.fromarray(noise).save(buffer, format="PNG", compress_level=0)
            cbz.writestr(f"{index:03d}.png", buffer.getvalue())
            sent.append(hashlib.sha256(buffer.getvalue()).hexdigest())
    assert archive.tell() > 64 * 1024 * 1024
    uploader = browser(stack, staff)
    manga_page = uploader.get(f"{stack.url}/manga/{manga.slug}/")  # sets the CSRF cookie
    assert manga_page.status_code == 200, manga_page.text[:300]
    response = uploader.post(
        f"{stack.url}/manga/{manga.slug}/upload",
        data={"number": "2"},
        files=[("files", ("chapter-2.cbz", archive.getvalue(), "application/vnd.comicbook+zip"))],
        headers={
            "Referer": f"{stack.url}/manga/{manga.slug}/",
            "X-CSRFToken": uploader.cookies["csrftoken"],
            "Accept": "application/json",
        },
        timeout=300,
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["ok"] is True
    uploaded = Chapter.objects.get(manga=manga, number=Decimal("2"))
    assert list(uploaded.pages.order_by("index").values_list("sha256", flat=True)) == sent
