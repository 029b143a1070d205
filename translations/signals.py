"""Stored files follow their rows: deleting a page (or its chapter or manga) removes its files.

Also: a new chapter, and a job queued or finished, move the manga's `updated_at` forward (the
library's "recently updated"); and every change the reader pages show moves the manga's `version`
forward (the key of their cached fragments, views/fragments.py). Job state changes come with a job
event in the same transaction (progress.py), so the event's signal covers the conditional UPDATEs that
send no signal of their own. Writes that bypass both (`bulk_create` of pages) call `Manga.bump_version`.

A signal, not a service, because the admin's cascade deletes call no service. Files go only
after the transaction commits, so a rolled-back delete keeps them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from translations import storage
from translations.models import Chapter, JobEvent, Manga, Page, PageResult, TranslationJob

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
    if not created:
        return
    changes: dict = {"version": F("version") + 1}
    # "Recently updated" for queued and finished only: a job run, not each of its pages.
    if instance.type in (JobEvent.Type.JOB_QUEUED, JobEvent.Type.JOB_FINISHED):
        changes["updated_at"] = timezone.now()
    Manga.objects.filter(chapters__jobs=instance.job_id).update(**changes)


# How a saved or deleted row names its manga, for `Manga.bump_version`.
MANGA_OF: dict[type, Callable[[Any], dict[str, int]]] = {
    Manga: lambda manga: {"pk": manga.pk},
    Chapter: lambda chapter: {"pk": chapter.manga_id},
    Page: lambda page: {"chapters": page.chapter_id},
    TranslationJob: lambda job: {"chapters": job.chapter_id},
    PageResult: lambda result: {"chapters__jobs": result.job_id},
}


def content_changed(sender, instance, **kwargs) -> None:
    Manga.bump_version(**MANGA_OF[sender](instance))


for model in MANGA_OF:
    post_save.connect(content_changed, sender=model, dispatch_uid=f"version-on-save-{model.__name__}")
    post_delete.connect(content_changed, sender=model, dispatch_uid=f"version-on-delete-{model.__name__}")


def _delete_after_commit(paths: list[str]) -> None:
    def delete() -> None:
        for path in paths:
            try:
                storage.delete(path)
            except storage.StorageError as exc:  # a bad stored path: nothing of ours to remove
                logger.warning("not deleting %r: %s", path, exc)

    transaction.on_commit(delete)
