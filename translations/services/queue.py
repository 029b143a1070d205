"""The hand-off to the workers: one django-q2 task per job, queued by the request side, the worker and the sweeper."""

from __future__ import annotations

from django.utils import timezone
from django_q.tasks import async_task

from translations.models import TranslationJob

TASK_TRANSLATE_JOB = "translations.tasks.translate_job"


def job_enqueue(job_id: int) -> str:
    """Hand the job to the workers. Safe to call twice: a second task finds the pages claimed."""
    TranslationJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    return async_task(TASK_TRANSLATE_JOB, job_id, group=f"job-{job_id}")
