"""The API as a script uses it, end to end: real daphne (HTTP + WebSocket) and a django-q2 cluster.

`manage.py api_token` makes a token → upload a CBZ → a job with the `test` translator → follow the
WebSocket with the token (in Sec-WebSocket-Protocol) to `job.finished` → download the CBZ.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
import requests
from django.contrib.auth.models import Permission
from websockets.sync.client import connect as ws_connect

from translations import storage
from translations.models import TranslationJob
from translations.tests.job_helpers import make_staff
from translations.tests.live_stack import DEMO, ROOT, models_missing, read_until_finished

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(models_missing()), reason=f"page models missing: {models_missing()} (make models)"),
]


def demo_cbz() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("01.jpg", "02.jpg"):
            archive.writestr(f"wikipe-tan/{name}", (DEMO / name).read_bytes())
    return buffer.getvalue()


def test_a_script_uploads_translates_follows_and_downloads_with_one_token(stack_factory):
    operator = make_staff("operator")
    operator.user_permissions.add(Permission.objects.get(codename="view_translationjob"))  # watches jobs
    stack = stack_factory(MANGA_TRANSLATE_EXECUTION_BACKEND="local")
    made = subprocess.run(
        [sys.executable, "manage.py", "api_token", "operator", "--name", "e2e"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    token = made.stdout.strip()
    stack.start("daphne")
    stack.start("qcluster")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"http://127.0.0.1:{stack.port}/api/v1"

    manga = api.post(f"{base}/manga/", json={"slug": "wikipe-tan", "title": "Wikipe-tan"}, timeout=30)
    assert manga.status_code == 201, manga.text
    upload = api.post(
        f"{base}/chapters/",
        data={"manga": manga.json()["id"], "number": "1"},
        files={"files": ("chapter.cbz", demo_cbz(), "application/vnd.comicbook+zip")},
        timeout=60,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["page_count"] == 2
    created = api.post(f"{base}/jobs/", json={"chapter": upload.json()["id"], "translator": "test"}, timeout=30)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["websocket_url"] == f"ws://127.0.0.1:{stack.port}/ws/jobs/{job['id']}/"

    with ws_connect(
        job["websocket_url"] + "?after=0",
        subprotocols=["mangasite", f"bearer.{token}"],
        origin=f"http://127.0.0.1:{stack.port}",
        open_timeout=10,
    ) as socket:
        assert socket.subprotocol == "mangasite"
        events = read_until_finished(socket)

    assert events[-1]["data"]["status"] == "success", json.dumps(events)[-2000:]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    detail = api.get(f"{base}/jobs/{job['id']}/", timeout=30).json()
    assert [p["status"] for p in detail["pages"]] == ["succeeded", "succeeded"]
    download = api.get(f"{base}/jobs/{job['id']}/cbz/", timeout=60)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="wikipe-tan-ch1-en.cbz"'
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    results = TranslationJob.objects.get(pk=job["id"]).page_results.select_related("page").order_by("page__index")
    for result in results:
        translated = storage.resolve_path(result.output_path).read_bytes()
        assert archive.read(f"{result.page.index:03d}.{result.output_path.rsplit('.', 1)[-1]}") == translated
        assert translated != storage.resolve_path(result.page.image).read_bytes()
    # The token went in a header, never in a URL: nothing the servers logged holds it.
    assert token not in stack.logs()
