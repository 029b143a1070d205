"""Staged pages follow their download: deleting a download (admin) removes its staging folder after commit."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from scraper.models import Download


@receiver(post_delete, sender=Download, dispatch_uid="download-staging")
def delete_download_staging(sender, instance: Download, **kwargs) -> None:
    from scraper.services.downloads import remove_staging

    download_id = instance.pk
    transaction.on_commit(lambda: remove_staging(download_id))
