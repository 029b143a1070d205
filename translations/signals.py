"""Stored files follow their rows: deleting a page (or its chapter or manga) removes its files.

A signal, not a service, because the admin's cascade deletes call no service. Files go only
after the transaction commits, so a rolled-back delete keeps them.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from translations import storage
from translations.models import Page, PageResult

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Page, dispatch_uid="page-files")
def delete_page_files(sender, instance: Page, **kwargs) -> None:
    _delete_after_commit([instance.image, instance.thumbnail, instance.cover_thumbnail])


@receiver(post_delete, sender=PageResult, dispatch_uid="page-result-files")
def delete_page_result_files(sender, instance: PageResult, **kwargs) -> None:
    if instance.output_path:
        _delete_after_commit([instance.output_path])


def _delete_after_commit(paths: list[str]) -> None:
    def delete() -> None:
        for path in paths:
            try:
                storage.delete(path)
            except storage.StorageError as exc:  # a bad stored path: nothing of ours to remove
                logger.warning("not deleting %r: %s", path, exc)

    transaction.on_commit(delete)
