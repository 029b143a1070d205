"""`manage.py translate_chapter`: queue a job, or run it here with --sync; non-zero unless the job succeeds."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_q.brokers import get_broker

from translations.models import TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter

TOKEN = "command token 0123456789"


@pytest.fixture
def stub(settings):
    with ComputeStub(token=TOKEN) as server:
        settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "cloudrun"
        settings.MANGA_CLOUDRUN_EXEC_URL = server.url
        settings.MANGA_INTERNAL_API_TOKEN = TOKEN
        settings.MANGA_CLOUDRUN_EXECUTOR_RETRIES = 0
        yield server


@pytest.fixture(autouse=True)
def empty_queue():
    get_broker().purge_queue()
    yield
    get_broker().purge_queue()


def run(*args) -> str:
    out = io.StringIO()
    call_command("translate_chapter", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_sync_runs_the_job_here_prints_its_progress_and_succeeds(stub):
    chapter = make_chapter(2)

    output = run(chapter.pk, "--translator", "test", "--target", "fr", "--sync")

    job = TranslationJob.objects.get(chapter=chapter)
    assert (job.status, job.target_language, job.backend) == ("success", "fr", "cloudrun")
    assert output.splitlines()[0] == f"job {job.pk}: {chapter}, 2 pages, test → fr on cloudrun"
    assert "page 2: done, 1 regions" in output
    assert output.splitlines()[-1] == "finished success: 2 translated, 0 without text, 0 failed, of 2"
    assert get_broker().queue_size() == 0  # nothing was handed to the workers


@pytest.mark.django_db(transaction=True)
def test_sync_exits_non_zero_when_a_page_failed(stub):
    chapter = make_chapter(2)
    stub.script["002.png"] = ["401"]

    with pytest.raises(CommandError, match=r"ended partial: 1 of 2 pages failed"):
        run(chapter.pk, "--translator", "test", "--sync")


@pytest.mark.django_db
def test_without_wait_the_job_is_only_queued():
    chapter = make_chapter(1)

    output = run(chapter.pk, "--translator", "none")

    assert "queued; follow it in the admin or with --wait" in output
    assert TranslationJob.objects.get(chapter=chapter).status == "queued"


@pytest.mark.django_db
def test_a_chapter_with_an_active_job_is_refused():
    chapter = make_chapter(1)
    chapter_request_translation(chapter=chapter, translator="test", enqueue=False)

    with pytest.raises(CommandError, match="already has an active job"):
        run(chapter.pk, "--translator", "test", "--sync")


@pytest.mark.django_db
def test_an_unknown_chapter_is_refused():
    with pytest.raises(CommandError, match="There is no chapter with id 404"):
        run(404)
