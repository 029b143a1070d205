"""The sweeper (services/sweeper.py) re-queues work whose worker died, and its django-q2 schedule exists."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.signing import SignedPackage

from translations.models import AuditEntry, JobEvent, PageResult, TranslationJob
from translations.services.execution import _claim_next_page, job_run
from translations.services.jobs import chapter_request_translation, job_enqueue
from translations.services.sweeper import jobs_sweep
from translations.tasks import sweep_jobs
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

Status = PageResult.Status


def queued_job_ids(broker) -> list[int]:
    ids = []
    while batch := broker.dequeue():
        for ack_id, payload in batch:
            ids.append(SignedPackage.loads(payload)["args"][0])
            broker.acknowledge(ack_id)
    return ids


def running_job(pages: int = 2) -> tuple[TranslationJob, PageResult]:
    job = chapter_request_translation(chapter=make_chapter(pages), translator="test", enqueue=False)
    claim = _claim_next_page(job.pk)
    assert isinstance(claim, PageResult)
    return job, claim


@pytest.mark.django_db
def test_the_sweeper_runs_every_minute_from_a_schedule_made_by_migrate():
    schedule = Schedule.objects.get(name="translations: sweep jobs")

    assert schedule.func == "translations.tasks.sweep_jobs"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


@pytest.mark.django_db
def test_a_page_whose_lease_ran_out_is_queued_again_with_its_job(broker):
    job, claimed = running_job()

    report = jobs_sweep(now=timezone.now() + timedelta(seconds=61))

    assert report.requeued_pages == [claimed.pk]
    claimed.refresh_from_db()
    assert (claimed.status, claimed.attempts, claimed.lease_expires_at) == (Status.PENDING, 1, None)
    assert queued_job_ids(broker) == [job.pk]
    last = JobEvent.objects.filter(job=job).last()
    assert (last.type, last.payload) == ("job.queued", {"pages": [1]})


@pytest.mark.django_db
def test_a_page_whose_lease_is_still_running_is_left_alone(broker):
    _, claimed = running_job()

    report = jobs_sweep(now=timezone.now() + timedelta(seconds=30))

    assert report.requeued_pages == []
    assert PageResult.objects.get(pk=claimed.pk).status == Status.RUNNING
    assert broker.queue_size() == 0


@pytest.mark.django_db
def test_a_requeued_page_is_translated_once_and_counted_once(broker):
    job, claimed = running_job(2)
    jobs_sweep(now=timezone.now() + timedelta(seconds=61))

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_total) == ("success", 2, 2)
    assert job.page_results.get(pk=claimed.pk).attempts == 2
    assert JobEvent.objects.filter(job=job, type="page.succeeded").count() == 2


@pytest.mark.django_db
def test_a_page_that_killed_its_worker_too_often_is_failed_instead(settings, broker):
    settings.MANGA_PAGE_MAX_ATTEMPTS = 1
    job, claimed = running_job(2)

    report = jobs_sweep(now=timezone.now() + timedelta(seconds=61))
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    assert report.failed_pages == [claimed.pk]
    claimed.refresh_from_db()
    assert (claimed.status, claimed.failure_stage) == (Status.FAILED, "worker")
    assert claimed.error.startswith("the worker stopped 1 times while translating this page")
    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == ("partial", 1, 1)


@pytest.mark.django_db
def test_a_queued_job_whose_task_was_lost_is_queued_again_within_two_sweeper_periods(broker):
    lost = chapter_request_translation(chapter=make_chapter(1, slug="lost"), translator="test", enqueue=False)
    waiting = chapter_request_translation(chapter=make_chapter(1, slug="waiting"), translator="test", enqueue=False)
    job_enqueue(lost.pk)
    broker.purge_queue()  # a cluster popped the task and died
    job_enqueue(waiting.pk)  # this one waits in the broker (the cluster is busy)
    first_sweep = timezone.now() + timedelta(seconds=30)

    assert jobs_sweep(now=first_sweep).requeued_jobs == []  # within one period: maybe on its way to a worker
    report = jobs_sweep(now=first_sweep + timedelta(minutes=1))

    assert report.requeued_jobs == [lost.pk]
    assert sorted(queued_job_ids(broker)) == sorted([waiting.pk, lost.pk])
    assert TranslationJob.objects.get(pk=lost.pk).status == "queued"


@pytest.mark.django_db
def test_a_job_with_a_running_page_is_not_queued_again_by_the_lost_task_rule(broker):
    job, _claimed = running_job()
    TranslationJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(minutes=10))

    assert jobs_sweep().requeued_jobs == []
    assert queued_job_ids(broker) == []


@pytest.mark.django_db
def test_audit_entries_are_kept_thirty_days(broker):
    AuditEntry.objects.create(action="job.cancel", created_at=timezone.now() - timedelta(days=31))
    recent = AuditEntry.objects.create(action="job.cancel", created_at=timezone.now() - timedelta(days=29))

    assert sweep_jobs()["audit_pruned"] == 1

    assert list(AuditEntry.objects.all()) == [recent]


class SlowExecutor(ScriptedExecutor):
    def translate_page(self, work, *, on_stage):
        time.sleep(2.5)
        return super().translate_page(work, on_stage=on_stage)


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_extending_its_lease(settings, broker):
    settings.MANGA_PAGE_LEASE_SEC = 3  # a beat every second
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)
    leases = []

    class Watching(SlowExecutor):
        def translate_page(self, work, *, on_stage):
            started = timezone.now()
            result = super().translate_page(work, on_stage=on_stage)
            leases.append((started, PageResult.objects.get(job=job).lease_expires_at))
            return result

    job_run(job_id=job.pk, executor=Watching())

    ((started, lease),) = leases
    assert lease - started > timedelta(seconds=4)  # claimed with 3 s, extended while the page ran
    assert PageResult.objects.get(job=job).status == Status.SUCCEEDED
