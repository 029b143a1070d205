"""Removing a chapter: its pages, its finished jobs and their files, never under a running job."""

from __future__ import annotations

from django.db import transaction

from translations.models import Chapter, TranslationJob
from translations.services.audit import audit_record

__all__ = ["ChapterBusy", "chapter_delete"]


class ChapterBusy(Exception):
    """The chapter has a queued or running job; cancel it first."""

    def __init__(self, message: str, job: TranslationJob) -> None:
        super().__init__(message)
        self.job = job


def chapter_delete(*, chapter: Chapter, requested_by=None) -> None:
    """Delete the chapter with its pages and finished jobs; files go after commit (translations/signals.py)."""
    with transaction.atomic():
        # Locking the chapter's jobs makes a job request for it wait, then fail on the missing chapter.
        jobs = list(TranslationJob.objects.select_for_update().filter(chapter=chapter))
        active = next((job for job in jobs if job.status in TranslationJob.ACTIVE), None)
        if active is not None:
            raise ChapterBusy(f"{chapter} has an active job ({active.pk}, {active.status}); cancel it first.", active)
        pages = chapter.pages.count()
        audit_record(
            actor=requested_by,
            action="chapter.delete",
            obj=chapter,
            message=f"Deleted {chapter} ({pages} pages, {len(jobs)} finished jobs).",
            details={"manga": chapter.manga_id, "number": str(chapter.number), "jobs": [job.pk for job in jobs]},
        )
        TranslationJob.objects.filter(pk__in=[job.pk for job in jobs]).delete()
        chapter.delete()
