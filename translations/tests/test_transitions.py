"""Every status pair of jobs and page results: the documented moves succeed, all others change nothing.

The allowed moves are written out here from the models' docstrings, not read from the tables, so
a state dropped from (or added to) a table fails a test. Then the moves as the services use them:
an `error` job retried, a cancelled job resumed.
"""

from __future__ import annotations

import itertools

import pytest

from translations.models import PageResult, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation, job_cancel, job_retry_failed, page_retry
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db

Job = TranslationJob.Status
Page = PageResult.Status

JOB_MOVES = {
    (Job.QUEUED, Job.RUNNING),
    (Job.RUNNING, Job.SUCCESS),
    (Job.RUNNING, Job.PARTIAL),
    (Job.RUNNING, Job.ERROR),
    (Job.QUEUED, Job.CANCELLED),
    (Job.RUNNING, Job.CANCELLED),
    (Job.SUCCESS, Job.QUEUED),
    (Job.PARTIAL, Job.QUEUED),
    (Job.ERROR, Job.QUEUED),
    (Job.CANCELLED, Job.QUEUED),
}
PAGE_MOVES = {
    (Page.PENDING, Page.RUNNING),
    (Page.RUNNING, Page.SUCCEEDED),
    (Page.RUNNING, Page.NO_TEXT),
    (Page.RUNNING, Page.FAILED),
    (Page.RUNNING, Page.PENDING),
    (Page.SUCCEEDED, Page.PENDING),
    (Page.NO_TEXT, Page.PENDING),
    (Page.FAILED, Page.PENDING),
    (Page.CANCELLED, Page.PENDING),
    (Page.PENDING, Page.CANCELLED),
    (Page.RUNNING, Page.CANCELLED),
}


def a_job(status: str) -> TranslationJob:
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)
    TranslationJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Job.values, Job.values)))
def test_a_job_moves_only_as_documented(source, target):
    job = a_job(source)

    moved = job.move_to(target)

    assert moved is ((source, target) in JOB_MOVES)
    stored = TranslationJob.objects.get(pk=job.pk)
    assert stored.status == (target if moved else source)
    assert job.status == stored.status
    final = target in (Job.SUCCESS, Job.PARTIAL, Job.ERROR, Job.CANCELLED)
    assert (stored.finished_at is not None) is (moved and final)
    assert (stored.started_at is not None) is (moved and target == Job.RUNNING)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Page.values, Page.values)))
def test_a_page_result_moves_only_as_documented(source, target):
    result = a_job(Job.RUNNING).page_results.get()
    PageResult.objects.filter(pk=result.pk).update(status=source, output_path="output/x/1/1/001.png")
    result.refresh_from_db()

    moved = result.move_to(target)

    assert moved is ((source, target) in PAGE_MOVES)
    stored = PageResult.objects.get(pk=result.pk)
    assert stored.status == (target if moved else source)
    final = target in (Page.SUCCEEDED, Page.NO_TEXT, Page.FAILED, Page.CANCELLED)
    assert (stored.finished_at is not None) is (moved and final)
    assert (stored.started_at is not None) is (moved and target == Page.RUNNING)


def test_a_move_keeps_the_times_a_caller_gives():
    job = a_job(Job.QUEUED)

    assert job.move_to(Job.RUNNING, started_at=None) is True
    assert job.move_to(Job.SUCCESS, finished_at=None) is True

    stored = TranslationJob.objects.get(pk=job.pk)
    assert (stored.started_at, stored.finished_at) == (None, None)


def test_a_move_with_a_condition_that_no_longer_holds_changes_nothing():
    result = a_job(Job.RUNNING).page_results.get()
    assert result.move_to(Page.RUNNING, where={"attempts": 0}, attempts=1) is True

    assert result.move_to(Page.FAILED, where={"attempts": 0}) is False
    assert PageResult.objects.get(pk=result.pk).status == Page.RUNNING
    assert result.move_to(Page.FAILED, where={"attempts": 1}) is True


def test_the_active_and_done_sets_name_every_status_once():
    assert set(TranslationJob.ACTIVE) == {Job.QUEUED, Job.RUNNING}
    assert set(PageResult.DONE) == {Page.SUCCEEDED, Page.NO_TEXT, Page.FAILED, Page.CANCELLED}


def test_a_job_that_ended_error_can_be_retried_and_then_succeed():
    job = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail", 2: "fail"}))
    job.refresh_from_db()
    assert job.status == Job.ERROR

    assert job_retry_failed(job=job) == 2
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed, job.error) == (Job.SUCCESS, 2, 0, "")


def test_a_cancelled_job_resumes_its_cancelled_pages():
    job = chapter_request_translation(chapter=make_chapter(3), translator="test", enqueue=False)

    def cancel_on_page_2(work):
        if work.image_name == "002.png":
            job_cancel(job=job)

    job_run(job_id=job.pk, executor=ScriptedExecutor(before=cancel_on_page_2))
    job.refresh_from_db()
    assert job.status == Job.CANCELLED

    assert job_retry_failed(job=job) == 2
    job.refresh_from_db()
    assert job.status == Job.QUEUED
    resumed = ScriptedExecutor()
    job_run(job_id=job.pk, executor=resumed)

    assert [work.image_name for work in resumed.seen] == ["002.png", "003.png"]
    job.refresh_from_db()
    assert (job.status, job.pages_succeeded) == (Job.SUCCESS, 3)


def test_a_page_of_a_cancelled_job_can_be_retried_alone():
    job = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)
    job_cancel(job=job)
    result = job.page_results.get(page__index=2)

    page_retry(page_result=result)
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    job.refresh_from_db()
    assert dict(job.page_results.values_list("page__index", "status")) == {1: Page.CANCELLED, 2: Page.SUCCEEDED}


def test_a_page_without_text_can_be_retried():
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "no_text"}))

    page_retry(page_result=job.page_results.get())
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    assert job.page_results.get().status == Page.SUCCEEDED
