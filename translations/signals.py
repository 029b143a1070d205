"""Stored files follow their rows: deleting a page (or its chapter or manga) removes its files.

Also: a new chapter, and a job queued or finished, move the manga's `updated_at` forward (the
library's "recently updated").

A signal, not a service, because the admin's cascade deletes call no service. Files go only
after the transaction commits, so a rolled-back delete keeps them.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from translations import storage
from translations.models import Chapter, JobEvent, Manga, Page, PageResult

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Page, dispatch_uid="page-files")
def delete_page_files(sender, instance: Page, **kwargs) -> None:
    _delete_after_commit([instance.image, instance.thumbnail, instance.cover_thumbnail])


@receiver(post_delete, sender=PageResult, dispatch_uid="page-result-files")
def delete_page_result_files(sender, instance: PageResult, **kwargs) -> None:
    if instance.output_path:
        _delete_after_commit([instance.output_path])


@receiver(post_save, sender=Chapter, dispatch_uid="chapter-updates-manga")
def chapter_updates_manga(sender, instance: Chapter, created: bool, **kwargs) -> None:
    if created:
        Manga.objects.filter(pk=instance.manga_id).update(updated_at=timezone.now())


@receiver(post_save, sender=JobEvent, dispatch_uid="job-event-updates-manga")
def job_event_updates_manga(sender, instance: JobEvent, created: bool, **kwargs) -> None:
    # Queued and finished only: one UPDATE per job run, not per page, in the event's transaction.
    if created and instance.type in (JobEvent.Type.JOB_QUEUED, JobEvent.Type.JOB_FINISHED):
        Manga.objects.filter(chapters__jobs=instance.job_id).update(updated_at=timezone.now())


def _delete_after_commit(paths: list[str]) -> None:
    def delete() -> None:
        for path in paths:
            try:
                storage.delete(path)
            except storage.StorageError as exc:  # a bad stored path: nothing of ours to remove
                logger.warning("not deleting %r: %s", path, exc)

    transaction.on_commit(delete)
