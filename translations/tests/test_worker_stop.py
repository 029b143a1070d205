"""A SIGTERM to qcluster's process group (systemd's stop) or its main process (docker's) ends it within a page.

The page in flight is finished (or released), the rest of the job waits in the broker, and a
restarted cluster completes it: the job ends `success` with every page translated once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from translations.models import JobEvent, PageResult, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter
from translations.tests.live_stack import TOKEN, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PAGE_SECONDS = 2.0


def group_alive(process) -> bool:
    """Whether the process or anything in its process group still runs (zombies aside)."""
    process.poll()  # reap the leader once it exits
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == process.pid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


@pytest.mark.parametrize("target", ["group", "main process"])
def test_a_sigterm_stops_the_cluster_within_a_page_and_the_job_still_succeeds(stack_factory, target):
    pages = 4
    with ComputeStub(token=TOKEN, default=f"slow:{PAGE_SECONDS}") as stub:
        chapter = make_chapter(pages)
        stack = stack_factory(
            MANGA_TRANSLATE_EXECUTION_BACKEND="cloudrun",
            MANGA_CLOUDRUN_EXEC_URL=stub.url,
            MANGA_INTERNAL_API_TOKEN=TOKEN,
        )
        job = chapter_request_translation(chapter=chapter, translator="test", backend="cloudrun")
        cluster = stack.start("qcluster")

        def page_2_running() -> bool:
            return job.page_results.filter(page__index=2, status=PageResult.Status.RUNNING).exists()

        wait_for(page_2_running, 60, "page 2 did not start", stack)
        signalled = time.monotonic()
        if target == "group":
            os.killpg(cluster.pid, signal.SIGTERM)  # systemd (KillMode=control-group)
        else:
            os.kill(cluster.pid, signal.SIGTERM)  # docker stop: PID 1 only
        deadline = signalled + PAGE_SECONDS + 8
        while group_alive(cluster) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped_after = time.monotonic() - signalled
        alive = group_alive(cluster)
        if alive:
            os.killpg(cluster.pid, signal.SIGKILL)
        stack.processes.pop("qcluster")
        assert not alive, f"the cluster was still running {stopped_after:.1f}s after SIGTERM\n{stack.logs()}"

        statuses = dict(job.page_results.values_list("page__index", "status"))
        assert statuses[1] == "succeeded"
        assert statuses[2] in ("succeeded", "pending")  # finished, or released for the next cluster
        assert "running" not in statuses.values()
        assert TranslationJob.objects.get(pk=job.pk).status in TranslationJob.ACTIVE

        stack.start("qcluster")

        def finished() -> bool:
            return TranslationJob.objects.get(pk=job.pk).status not in TranslationJob.ACTIVE

        wait_for(finished, 90, "the restarted cluster did not finish the job", stack)
        stub_pages = [request.page for request in stub.requests]

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == ("success", pages, 0)
    succeeded = JobEvent.objects.filter(job=job, type="page.succeeded").values_list("payload__page", flat=True)
    assert sorted(succeeded) == list(range(1, pages + 1))
    assert sorted(set(stub_pages)) == [f"{i:03d}.png" for i in range(1, pages + 1)]
