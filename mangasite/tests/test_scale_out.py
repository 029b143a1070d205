"""Scale-out (docs/operations.md): two worker clusters, as two hosts would run them, against one
PostgreSQL and one Redis take six chapters in parallel — every page translated exactly once, the
chapters spread over both clusters."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection

from mangasite.tests.serving import ServingStack
from translations.models import JobEvent, PageResult, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter
from translations.tests.live_stack import ROOT

TOKEN = "scale-out token 0123456789"
CHAPTERS, PAGES = 6, 3
PAGE_LINE = re.compile(r"page job-(\d+)/page-(\d+)/try-(\d+) status=(\w+) recorded=True")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not django_settings.REDIS_URL or connection.vendor != "postgresql",
        reason="the production shape: needs DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
]


def wait_until(condition, timeout: float, what: str, stack: ServingStack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s\n{stack.logs()}")


def test_two_worker_clusters_share_six_chapters_and_translate_every_page_once(data_dir, tmp_path, broker):
    with ComputeStub(token=TOKEN, default="slow:0.4") as stub:
        # One worker process per cluster: each holds at most one task ahead, so both must work.
        stack = ServingStack(
            data_dir,
            tmp_path,
            MANGA_TRANSLATE_EXECUTION_BACKEND="cloudrun",
            MANGA_CLOUDRUN_EXEC_URL=stub.url,
            MANGA_INTERNAL_API_TOKEN=TOKEN,
        )
        stack.env["MANGA_Q_WORKERS"] = "1"
        health = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "worker_health"]
        before = subprocess.run(health, cwd=ROOT, env=stack.env, capture_output=True, text=True)
        assert before.returncode == 1
        assert "no worker cluster on" in before.stderr
        try:
            clusters = {}
            for name in ("qcluster-a", "qcluster-b"):
                clusters[name] = stack._spawn(name, [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "qcluster"])
            logs = {name: tmp_path / f"{name}.log" for name in clusters}
            wait_until(
                lambda: all("ready for work" in log.read_text() for log in logs.values()),
                60,
                "both clusters were not ready",
                stack,
            )
            # The compose healthcheck of a worker container: both clusters report from this host.
            checks: list[subprocess.CompletedProcess] = []

            def both_report() -> bool:
                checks.append(subprocess.run(health, cwd=ROOT, env=stack.env, capture_output=True, text=True))
                return checks[-1].returncode == 0 and checks[-1].stdout.count(" workers") == 2

            wait_until(both_report, 30, "worker_health did not see both clusters", stack)
            jobs = [
                chapter_request_translation(
                    chapter=make_chapter(PAGES, slug=f"manga-{n}"), translator="test", backend="cloudrun"
                )
                for n in range(CHAPTERS)
            ]

            def all_finished() -> bool:
                return not TranslationJob.objects.filter(pk__in=[j.pk for j in jobs]).exclude(status="success").exists()

            wait_until(all_finished, 120, "the six chapters did not all succeed", stack)
            done_by = {name: PAGE_LINE.findall(log.read_text()) for name, log in logs.items()}
        finally:
            stack.stop()
        sent = len(stub.requests)

    # Every page exactly once: one try each, one claim each, one request to the compute service each.
    results = PageResult.objects.filter(job__in=jobs)
    assert results.count() == CHAPTERS * PAGES
    assert set(results.values_list("status", flat=True)) == {"succeeded"}
    assert set(results.values_list("attempts", flat=True)) == {1}
    started = Counter(JobEvent.objects.filter(job__in=jobs, type="page.started").values_list("job_id", "payload__page"))
    assert len(started) == CHAPTERS * PAGES
    assert set(started.values()) == {1}
    assert sent == CHAPTERS * PAGES
    pages_logged = [(int(job), int(page)) for lines in done_by.values() for job, page, _, _ in lines]
    assert sorted(pages_logged) == sorted((j.pk, p) for j in jobs for p in range(1, PAGES + 1))
    # Spread: each cluster translated whole chapters, and both took some.
    chapters_of = {name: {int(job) for job, _, _, _ in lines} for name, lines in done_by.items()}
    assert all(chapters_of.values()), chapters_of
    # One task per chapter (no slicing at this length), so no chapter was split between clusters.
    assert chapters_of["qcluster-a"].isdisjoint(chapters_of["qcluster-b"]), chapters_of
    assert chapters_of["qcluster-a"] | chapters_of["qcluster-b"] == {j.pk for j in jobs}
