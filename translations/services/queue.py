"""The hand-off to the workers: one django-q2 task per job, queued by the request side, the worker and the sweeper."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from translations.models import TranslationJob

TASK_TRANSLATE_JOB = "translations.tasks.translate_job"


def job_enqueue(job_id: int) -> str:
    """Hand the job to the workers. Safe to call twice: a second task finds the pages claimed."""
    TranslationJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    return async_task(TASK_TRANSLATE_JOB, job_id, group=f"job-{job_id}")


def job_enqueue_later(job_id: int, *, seconds: float) -> None:
    """Hand the job to the workers again in `seconds` (a one-off django-q2 schedule; its scheduler ticks every 30 s).

    `enqueued_at` is set to that time, so the sweeper does not take the wait for a lost task.
    """
    run_at = timezone.now() + timedelta(seconds=seconds)
    TranslationJob.objects.filter(pk=job_id).update(enqueued_at=run_at)
    Schedule.objects.create(
        name=f"job-{job_id}-later-{run_at:%Y%m%dT%H%M%S.%f}",
        func=TASK_TRANSLATE_JOB,
        args=repr((job_id,)),
        schedule_type=Schedule.ONCE,
        repeats=-1,  # deleted once it ran
        next_run=run_at,
    )
