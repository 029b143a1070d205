"""Requesting, retrying and cancelling chapter jobs (services/jobs.py): rows, refusals, queue and audit."""

from __future__ import annotations

import pytest
from django_q.signing import SignedPackage

from translations.models import AuditEntry, JobEvent, PageResult, TranslationJob
from translations.services.jobs import (
    JobConflict,
    JobRefused,
    QueueFull,
    chapter_request_translation,
    job_cancel,
    job_retry_failed,
    page_retry,
)
from translations.tests.job_helpers import make_chapter, make_staff

pytestmark = pytest.mark.django_db

Status = TranslationJob.Status
PageStatus = PageResult.Status


@pytest.fixture
def staff():
    return make_staff()


def request(chapter, **kwargs) -> TranslationJob:
    return chapter_request_translation(chapter=chapter, translator="test", requested_by=None, **kwargs)


def finish(job: TranslationJob, statuses: dict[int, str]) -> None:
    """Put the job's pages in the given final states (by index) and the job in its final status."""
    for result in job.page_results.select_related("page"):
        status = statuses.get(result.page.index, PageStatus.SUCCEEDED)
        result.status = status
        result.output_path = f"output/x/1/{job.pk}/{result.page.index:03d}.png" if status == "succeeded" else ""
        result.save()
    status = Status.PARTIAL if PageStatus.FAILED in statuses.values() else Status.SUCCESS
    TranslationJob.objects.filter(pk=job.pk).update(status=status)


def queued_tasks(broker) -> list[dict]:
    tasks: list[dict] = []
    while True:
        batch = broker.dequeue()
        if not batch:
            return tasks
        for ack_id, payload in batch:
            tasks.append(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)


def test_a_request_creates_a_queued_job_with_one_pending_result_per_page(staff):
    chapter = make_chapter(3)

    job = chapter_request_translation(chapter=chapter, target_language="fr", translator="none", requested_by=staff)

    assert job.status == Status.QUEUED
    assert (job.target_language, job.translator, job.backend, job.requested_by) == ("fr", "none", "local", staff)
    assert job.pages_total == 3
    results = list(job.page_results.order_by("page__index"))
    assert [r.page.index for r in results] == [1, 2, 3]
    assert {r.status for r in results} == {PageStatus.PENDING}


def test_the_job_reaches_the_broker_only_after_the_transaction_commits(broker, django_capture_on_commit_callbacks):
    chapter = make_chapter(2)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = request(chapter)
    assert broker.queue_size() == 0

    for callback in callbacks:
        callback()
    (task,) = queued_tasks(broker)
    assert task["func"] == "translations.tasks.translate_job"
    assert task["args"] == (job.pk,)
    job.refresh_from_db()
    assert job.enqueued_at is not None


def test_the_target_language_defaults_to_the_mangas():
    chapter = make_chapter(1)
    chapter.manga.target_language = "es"
    chapter.manga.save()

    assert request(chapter).target_language == "es"


def test_a_second_request_for_a_chapter_with_an_active_job_is_a_conflict():
    chapter = make_chapter(2)
    first = request(chapter)

    with pytest.raises(JobConflict) as caught:
        request(chapter)

    assert caught.value.status_code == 409
    assert caught.value.job == first
    assert TranslationJob.objects.count() == 1


def test_a_chapter_takes_a_new_request_once_its_job_finished():
    chapter = make_chapter(1)
    finish(request(chapter), {})

    request(chapter)

    assert TranslationJob.objects.filter(chapter=chapter).count() == 2


def test_a_full_queue_refuses_with_429(settings):
    settings.MANGA_QUEUE_MAX_ACTIVE_JOBS = 1
    request(make_chapter(1, slug="one"))

    with pytest.raises(QueueFull) as caught:
        request(make_chapter(1, slug="two"))

    assert caught.value.status_code == 429
    assert TranslationJob.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"translator": "babelfish"}, "Unknown translator 'babelfish'"),
        ({"translator": "test", "target_language": "xx"}, "Unknown target language 'xx'"),
        ({"translator": "test", "backend": "gpu-farm"}, "Unknown execution backend 'gpu-farm'"),
    ],
)
def test_unknown_names_are_refused_with_the_choices(kwargs, message):
    with pytest.raises(JobRefused, match=message):
        chapter_request_translation(chapter=make_chapter(1), **kwargs)
    assert not TranslationJob.objects.exists()


def test_a_chapter_without_pages_is_refused():
    with pytest.raises(JobRefused, match="has no pages"):
        request(make_chapter(0))


def test_each_action_writes_an_audit_entry_naming_the_actor(staff):
    chapter = make_chapter(2)
    job = chapter_request_translation(chapter=chapter, translator="test", requested_by=staff)
    job_cancel(job=job, requested_by=staff)
    job_retry_failed(job=job, requested_by=staff)

    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "actor", "object_id"))
    assert entries == [
        ("job.request", staff.pk, str(job.pk)),
        ("job.cancel", staff.pk, str(job.pk)),
        ("job.retry_failed", staff.pk, str(job.pk)),
    ]


def test_cancelling_a_queued_job_cancels_its_pages_and_tells_the_watchers():
    job = request(make_chapter(3))

    assert job_cancel(job=job) is True

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.finished_at is not None
    assert set(job.page_results.values_list("status", flat=True)) == {PageStatus.CANCELLED}
    last = JobEvent.objects.filter(job=job).last()
    assert (last.type, last.payload["status"]) == ("job.finished", "cancelled")


def test_cancelling_a_finished_job_changes_nothing():
    job = request(make_chapter(1))
    finish(job, {})

    assert job_cancel(job=job) is False
    assert TranslationJob.objects.get(pk=job.pk).status == Status.SUCCESS


def test_retrying_a_job_queues_only_its_failed_pages_again():
    job = request(make_chapter(4))
    finish(job, {2: PageStatus.FAILED, 3: PageStatus.NO_TEXT, 4: PageStatus.FAILED})

    assert job_retry_failed(job=job) == 2

    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert job.finished_at is None
    statuses = dict(job.page_results.values_list("page__index", "status"))
    assert statuses == {1: "succeeded", 2: "pending", 3: "no_text", 4: "pending"}
    last = JobEvent.objects.filter(job=job).last()
    assert (last.type, last.payload) == ("job.queued", {"pages": [2, 4]})


def test_a_job_without_failed_pages_has_nothing_to_retry():
    job = request(make_chapter(2))
    finish(job, {})

    with pytest.raises(JobRefused, match="no failed pages"):
        job_retry_failed(job=job)


def test_an_active_job_is_not_retried():
    job = request(make_chapter(2))

    with pytest.raises(JobRefused, match="still queued"):
        job_retry_failed(job=job)


def test_retrying_a_job_while_its_chapter_has_another_active_job_is_a_conflict():
    chapter = make_chapter(2)
    old = request(chapter)
    finish(old, {1: PageStatus.FAILED})
    request(chapter)

    with pytest.raises(JobConflict):
        job_retry_failed(job=old)
    assert TranslationJob.objects.get(pk=old.pk).status == Status.PARTIAL
    assert old.page_results.get(page__index=1).status == PageStatus.FAILED


def test_retrying_one_page_of_a_finished_job_queues_the_job_again():
    job = request(make_chapter(3))
    finish(job, {})
    result = job.page_results.get(page__index=2)

    page_retry(page_result=result)

    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert dict(job.page_results.values_list("page__index", "status")) == {
        1: "succeeded",
        2: "pending",
        3: "succeeded",
    }


def test_a_pending_page_is_not_retried():
    job = request(make_chapter(1))

    with pytest.raises(JobRefused, match="already pending"):
        page_retry(page_result=job.page_results.get())


def test_events_of_a_job_are_numbered_from_one_without_gaps():
    job = request(make_chapter(2))
    job_cancel(job=job)
    job_retry_failed(job=job)

    assert list(JobEvent.objects.filter(job=job).values_list("seq", "type")) == [
        (1, "job.queued"),
        (2, "job.finished"),
        (3, "job.queued"),
    ]
    assert TranslationJob.objects.get(pk=job.pk).last_event_seq == 3
