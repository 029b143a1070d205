"""Jobs end to end with real processes: daphne and a django-q2 cluster against the test database.

Runs on both setups: SQLite + ORM broker + embedded progress (the consumer polls the events
table), and PostgreSQL + Redis (broker, and the doorbell from the workers to daphne).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from translations import storage
from translations.models import Chapter, JobEvent, PageResult, TranslationJob
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation
from translations.services.sweeper import jobs_sweep
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter, make_staff
from translations.tests.live_stack import (
    DEMO,
    ROOT,
    TOKEN,
    blank_page,
    models_missing,
    read_until_finished,
    session_of,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
