"""The audit log of staff actions (DESIGN §10): one row per action, from whichever edge it came."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from translations.models import AuditEntry


def audit_record(*, actor, action: str, obj: models.Model | None = None, message: str = "", details=None) -> AuditEntry:
    """Write one entry; `actor` is None for the command line and the system itself."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        message=message,
        details=details or {},
    )


def audit_prune(*, now=None) -> int:
    """Delete entries older than MANGA_AUDIT_RETENTION_DAYS; returns how many went."""
    from translations.figures import audit_series
    from translations.services.telemetry import prune_keeping_counts

    cutoff = (now or timezone.now()) - timedelta(days=settings.MANGA_AUDIT_RETENTION_DAYS)
    # Failed sign-ins are a counter in /metrics: what the pruned entries counted is kept.
    return prune_keeping_counts(AuditEntry.objects.filter(created_at__lt=cutoff), audit_series)
