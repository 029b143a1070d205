"""`make demo` end to end: the script brings up daphne + qcluster, and staff see the sample chapter in admin."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    "DATABASE_URL" in os.environ, reason="the demo is the embedded setup; the SQLite run covers it"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo exited early with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def wait_for_job(database: Path, timeout: float = 120) -> str:
    """The demo's job status once it has ended, read from the demo's own SQLite file."""
    deadline = time.monotonic() + timeout
    status = "no job"
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(database, timeout=10)) as connection:
            row = connection.execute("SELECT status FROM translations_translationjob").fetchone()
        status = row[0] if row else "no job"
        if status not in ("no job", "queued", "running"):
            break
        time.sleep(1)
    return status


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(
        MANGA_DATA_DIR=str(tmp_path / "data"),
        STATIC_ROOT=str(tmp_path / "static"),
        MANGA_DEMO_PORT=str(port),
        DJANGO_SUPERUSER_USERNAME="demo-staff",
        DJANGO_SUPERUSER_PASSWORD="a demo password for tests",
    )
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        ["bash", "deploy/demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", process)
        yield base, tmp_path
    finally:
        stop(process)
        log.close()
        print((tmp_path / "demo.log").read_text())  # shown by pytest only when the test fails


def stop(process: subprocess.Popen) -> None:
    """Stop the demo and everything it started (daphne, qcluster and its workers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return  # the whole group has exited
        try:
            process.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def test_staff_log_in_and_see_the_sample_chapter_and_its_pages(demo):
    base, tmp_path = demo
    session = requests.Session()
    login = session.get(f"{base}/admin/login/", timeout=10)
    assert login.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "demo-staff", "password": "a demo password for tests"},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "Site administration" in response.text

    chapters = session.get(f"{base}/admin/translations/chapter/", timeout=10)
    assert "Wikipe-tan" in chapters.text
    chapter_url = re.search(r'href="(/admin/translations/chapter/\d+/change/)"', chapters.text).group(1)
    chapter = session.get(base + chapter_url, timeout=10)
    thumbnails = re.findall(r'src="(/media/pages/\d+/thumbnail)"', chapter.text)
    assert len(thumbnails) == 2
    for url in thumbnails:
        image = session.get(base + url, timeout=10)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/jpeg"

    # The admin's own CSS comes through WhiteNoise, with DEBUG off.
    css = session.get(f"{base}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200

    # The demo queued the chapter's translation (cleaning mode: no Gemini key here); the worker runs it.
    assert wait_for_job(tmp_path / "data" / "mangasite.sqlite3") == "success"
    outputs = sorted(p.name for p in (tmp_path / "data" / "output" / "wikipe-tan" / "1").rglob("*.*"))
    assert outputs == ["001.jpg", "002.jpg"]

    raw = sorted(p.name for p in (tmp_path / "data" / "raw" / "wikipe-tan" / "1").iterdir())
    assert raw == ["001.jpg", "002.jpg"]
    assert (tmp_path / "data" / "raw" / "wikipe-tan" / "1" / "001.jpg").read_bytes() == (
        ROOT / "demo" / "wikipe-tan" / "01.jpg"
    ).read_bytes()
