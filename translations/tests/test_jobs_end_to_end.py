"""Jobs end to end with real processes: daphne and a django-q2 cluster against the test database.

Runs on both setups: SQLite + ORM broker + embedded progress (the consumer polls the events
table), and PostgreSQL + Redis (broker, and the doorbell from the workers to daphne).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from PIL import Image
from websockets.sync.client import connect as ws_connect

from translations import storage
from translations.models import Chapter, JobEvent, PageResult, TranslationJob
from translations.pipeline import registry
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation
from translations.services.sweeper import jobs_sweep
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter, make_staff

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wikipe-tan"
TOKEN = "end-to-end token"

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def models_missing() -> list[str]:
    specs = registry.default_manifest().values()
    model_dir = django_settings.MANGA_MODEL_DIR
    return [s.name for s in specs if not s.optional and registry.state_of(s, model_dir) is registry.ModelState.MISSING]


class Stack:
    """daphne and qcluster as subprocesses, on the database and data directory of this test."""

    def __init__(self, data_dir: Path, log_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.port = free_port()
        self.env = self._environment(env)
        self.processes: dict[str, subprocess.Popen] = {}

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY")}
        database = connection.settings_dict
        if database["ENGINE"].endswith("sqlite3"):
            # The workers find the test database where the settings look for it: MANGA_DATA_DIR/mangasite.sqlite3.
            link = self.data_dir / "mangasite.sqlite3"
            if not link.exists():
                link.symlink_to(Path(database["NAME"]).resolve())
        else:
            user, password = database["USER"] or "", database["PASSWORD"] or ""
            auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
            env["DATABASE_URL"] = f"postgres://{auth}{database['HOST']}:{database['PORT']}/{database['NAME']}"
        if django_settings.REDIS_URL:
            env["REDIS_URL"] = django_settings.REDIS_URL
        # Tasks are signed with SECRET_KEY: the workers must share this process's.
        if django_settings.SECRET_KEY == django_settings.UNSET_SECRET_KEY:
            env["DEBUG"] = "1"
        else:
            env["SECRET_KEY"] = django_settings.SECRET_KEY
        env.update(MANGA_DATA_DIR=str(self.data_dir), MANGA_Q_WORKERS="2", PYTHONUNBUFFERED="1", **extra)
        return env

    def start(self, name: str) -> subprocess.Popen:
        if name == "daphne":
            command = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port)]
            command.append("mangasite.asgi:application")
        else:
            command = [sys.executable, "manage.py", "qcluster"]
        log = (self.log_dir / f"{name}.log").open("a")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        if name == "daphne":
            self._wait_for_http(process)
        return process

    def _wait_for_http(self, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"daphne exited with {process.returncode}:\n{self.logs()}"
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"daphne did not answer within {timeout}s:\n{self.logs()}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process and everything it started (qcluster: its workers, monitor, pusher)."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        # qcluster's graceful stop can wait out its task timeout; nothing here needs it to be graceful.
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM if name == "daphne" else signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-6000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def websocket(self, path: str, session_key: str):
        return ws_connect(  # type: ignore[call-overload]
            f"ws://127.0.0.1:{self.port}{path}",
            origin=f"http://127.0.0.1:{self.port}",
            additional_headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session_key}"},
            open_timeout=10,
        )


@pytest.fixture
def stack_factory(data_dir, tmp_path):
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(data_dir, tmp_path, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
        print(stack.logs())  # shown by pytest only when the test fails


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def read_until_finished(socket, timeout: float = 180) -> list[dict]:
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
        messages.append(message)
        if message["type"] == "job.finished":
            return messages
    raise AssertionError(f"no job.finished within {timeout}s: {messages}")


def wait_for(condition, timeout: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout}s\n{stack.logs()}")


def blank_page() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 600), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.skipif(bool(models_missing()), reason=f"page models missing: {models_missing()} (make models)")
def test_a_chapter_translated_by_the_workers_streams_its_progress_and_ends_in_the_database(stack_factory, tmp_path):
    source = tmp_path / "chapter"
    source.mkdir()
    (source / "01.jpg").write_bytes((DEMO / "01.jpg").read_bytes())
    (source / "02.jpg").write_bytes((DEMO / "02.jpg").read_bytes())
    (source / "03.png").write_bytes(blank_page())
    chapter = chapter_import(source=source, manga_title="Wikipe-tan", chapter_number=1, language="ja").chapter
    staff = make_staff()
    stack = stack_factory(MANGA_TRANSLATE_EXECUTION_BACKEND="local")
    stack.start("daphne")
    stack.start("qcluster")

    # --wait: the command enqueues, the cluster translates, the command prints progress and exits 0.
    command = subprocess.Popen(
        [sys.executable, "manage.py", "translate_chapter", str(chapter.pk), "--translator", "test", "--wait"],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack.processes["translate_chapter"] = command  # stopped with the stack if the test fails
    first_lines = ""
    while not (found := re.search(r"^job (\d+):", first_lines, re.MULTILINE)):
        line = command.stdout.readline()
        assert line, f"translate_chapter printed no job id:\n{first_lines}"
        first_lines += line
    job_id = int(found.group(1))
    # Connected after the job started: ?after=0 replays what the socket missed, from the first event.
    with stack.websocket(f"/ws/jobs/{job_id}/?after=0", session_of(staff)) as socket:
        events = read_until_finished(socket)
    output = first_lines + command.communicate(timeout=120)[0]
    assert command.returncode == 0, output + stack.logs()

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [(e["type"], e["data"].get("page"), e["data"].get("status") or e["data"].get("stage")) for e in events]
    # The pipeline reports each of its stages as it starts; a page without text skips erasing and lettering.
    lettered = ("load", "detect", "ocr", "group", "translate", "inpaint", "letter", "encode", "store")
    blank = ("load", "detect", "ocr", "group", "translate", "encode")
    assert kinds == [
        ("job.queued", None, None),
        ("job.started", None, None),
        ("page.started", 1, None),
        *[("page.stage", 1, stage) for stage in lettered],
        ("page.succeeded", 1, "succeeded"),
        ("page.started", 2, None),
        *[("page.stage", 2, stage) for stage in lettered],
        ("page.succeeded", 2, "succeeded"),
        ("page.started", 3, None),
        *[("page.stage", 3, stage) for stage in blank],
        ("page.succeeded", 3, "no_text"),
        ("job.finished", None, "success"),
    ]
    assert "finished success: 2 translated, 1 without text, 0 failed, of 3" in output

    job = TranslationJob.objects.get(pk=job_id)
    assert (job.status, job.pages_succeeded, job.pages_failed, job.pages_no_text) == ("success", 2, 0, 1)
    assert job.translate_elapsed_ms_total > 0
    assert job.transport_ratio == 0  # nothing remote on the local backend
    results = {r.page.index: r for r in job.page_results.select_related("page")}
    for index in (1, 2):
        output_file = storage.resolve_path(results[index].output_path)
        assert output_file.read_bytes() != storage.resolve_path(results[index].page.image).read_bytes()
        assert any(region["translation"] for region in results[index].regions)
        assert results[index].timings["detect"] > 0
    assert (results[3].status, results[3].output_path) == ("no_text", "")

    # A fresh connection gets the final state as its snapshot.
    with stack.websocket(f"/ws/jobs/{job_id}/", session_of(staff)) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == len(events)
    assert [p["status"] for p in snapshot["data"]["pages"]] == ["succeeded", "succeeded", "no_text"]


def test_a_worker_killed_mid_chapter_is_recovered_and_no_page_counts_twice(stack_factory):
    pages = 5
    with ComputeStub(token=TOKEN, default="slow:0.8") as stub:
        chapter = make_chapter(pages)
        stack = stack_factory(
            MANGA_TRANSLATE_EXECUTION_BACKEND="cloudrun",
            MANGA_CLOUDRUN_EXEC_URL=stub.url,
            MANGA_INTERNAL_API_TOKEN=TOKEN,
            MANGA_PAGE_LEASE_SEC="3",
        )
        job = chapter_request_translation(chapter=chapter, translator="test", backend="cloudrun")
        stack.start("qcluster")

        def page_3_running() -> bool:
            return job.page_results.filter(page__index=3, status=PageResult.Status.RUNNING).exists()

        def page_3_sent() -> bool:
            # The row turns running before the request leaves: wait for the compute service to hold it.
            return page_3_running() and bool(stub.requests_for("003.png"))

        wait_for(page_3_sent, 60, "page 3 did not reach the compute service", stack)
        stack.kill("qcluster")  # SIGKILL to the whole cluster, mid-page

        assert page_3_running()
        assert dict(job.page_results.values_list("page__index", "status")) == {
            1: "succeeded",
            2: "succeeded",
            3: "running",
            4: "pending",
            5: "pending",
        }
        stack.start("qcluster")
        time.sleep(3.5)  # the killed worker's lease runs out (MANGA_PAGE_LEASE_SEC=3)
        # What the every-minute schedule does, without waiting up to a minute and a half for it.
        report = jobs_sweep()
        assert report.requeued_pages == [job.page_results.get(page__index=3).pk]

        def finished() -> bool:
            return TranslationJob.objects.get(pk=job.pk).status not in TranslationJob.ACTIVE

        wait_for(finished, 60, "the job did not finish", stack)
        stub_pages = [request.page for request in stub.requests]

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed, job.pages_total) == ("success", pages, 0, pages)
    results = {r.page.index: r for r in job.page_results.select_related("page")}
    assert {i: r.attempts for i, r in results.items()} == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    assert stub_pages.count("003.png") == 2
    succeeded = JobEvent.objects.filter(job=job, type="page.succeeded").values_list("payload__page", flat=True)
    assert sorted(succeeded) == [1, 2, 3, 4, 5]
    assert JobEvent.objects.filter(job=job, type="job.finished").count() == 1
    outputs = sorted(p.name for p in (storage.data_root() / "output" / "blue-sky" / "1" / str(job.pk)).iterdir())
    assert outputs == [f"{i:03d}.png" for i in range(1, pages + 1)]
    # Page 4 ran after the recovery and still got its context from the pages before it.
    assert Chapter.objects.get(pk=chapter.pk).jobs.count() == 1
