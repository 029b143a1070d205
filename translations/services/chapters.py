"""Deleting a chapter with its pages, translation runs and files; refused while a job of it runs."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError

from translations.models import Chapter, TranslationJob
from translations.services.audit import audit_record
from translations.services.jobs import JobConflict

__all__ = ["chapter_delete"]


def chapter_delete(*, chapter: Chapter, requested_by=None) -> None:
    """Delete the chapter, its jobs (results, events) and pages; the files go once this commits (signals).

    Raises JobConflict (409) when a job of the chapter is queued or running: cancel it first.
    """
    try:
        with transaction.atomic():
            jobs = TranslationJob.objects.select_for_update().filter(chapter=chapter)
            active = next((job for job in jobs if job.status in TranslationJob.ACTIVE), None)
            if active is not None:
                raise JobConflict(
                    f"{chapter} has a {active.status} job ({active.pk}); cancel it or let it finish first.", active
                )
            pages = chapter.pages.count()
            audit_record(
                actor=requested_by,
                action="chapter.delete",
                obj=chapter,
                message=f"Deleted {chapter} ({pages} pages, {len(jobs)} translation runs).",
                details={"manga": chapter.manga_id, "chapter": chapter.slug, "pages": pages, "jobs": len(jobs)},
            )
            for job in jobs:
                job.delete()
            chapter.delete()
    except ProtectedError as exc:  # a job was requested between the check and the delete
        raise JobConflict(f"{chapter} got a new translation job meanwhile; try again.") from exc
