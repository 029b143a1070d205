"""Rows the operational figures are computed from (docs/operations.md, "Metrics").

Every process writes to the database, and /metrics and the staff dashboard read it back, so the
figures agree across gunicorn workers, daphne and any number of worker hosts without a shared
metrics directory. Writing a figure never fails the work it describes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from translations.models import ComputeCall, JobEvent, MetricOffset

logger = logging.getLogger(__name__)


def compute_call_record(
    *, outcome: str, status_code: int = 0, elapsed_ms: int = 0, cold_start: bool = False, attempt: int = 1
) -> None:
    """One try to the compute service; called by executors.compute_send, outside any transaction."""
    try:
        ComputeCall.objects.create(
            outcome=outcome,
            status_code=status_code,
            elapsed_ms=max(0, elapsed_ms),
            cold_start=cold_start,
            attempt=attempt,
        )
    except Exception:  # a metric never fails the page it describes (database down, no database here)
        logger.warning("compute call not recorded for the metrics", exc_info=True)


def events_mark_delivered(*, job_id: int, first_seq: int, last_seq: int, now=None) -> int:
    """Stamp the first delivery of a job's events to a WebSocket client; later deliveries keep it."""
    try:
        return JobEvent.objects.filter(
            job_id=job_id, seq__gte=first_seq, seq__lte=last_seq, delivered_at__isnull=True
        ).update(delivered_at=now or timezone.now())
    except DatabaseError:
        logger.warning("progress delivery not recorded for the metrics", exc_info=True)
        return 0


def compute_calls_prune(*, now=None) -> int:
    """Delete compute calls older than MANGA_METRICS_RETENTION_DAYS, keeping what they counted."""
    from translations.figures import compute_call_series

    cutoff = (now or timezone.now()) - timedelta(days=settings.MANGA_METRICS_RETENTION_DAYS)
    return prune_keeping_counts(ComputeCall.objects.filter(created_at__lt=cutoff), compute_call_series)


def prune_keeping_counts(rows: QuerySet, series: Callable[[QuerySet], dict]) -> int:
    """Delete `rows`, first adding what they count in `series` (the exporter's own definition) to
    `MetricOffset`, in one transaction: the counters and histograms /metrics exports stay monotonic
    (Prometheus reads a drop as a reset)."""
    from translations.figures import offset_key

    with transaction.atomic():
        ids = list(rows.select_for_update().values_list("pk", flat=True))
        if not ids:
            return 0
        doomed = rows.model.objects.filter(pk__in=ids)
        for key, value in series(doomed).items():
            if value:
                offset, _ = MetricOffset.objects.get_or_create(series=offset_key(key))
                MetricOffset.objects.filter(pk=offset.pk).update(value=F("value") + value)
        deleted, _ = doomed.delete()
    return deleted
