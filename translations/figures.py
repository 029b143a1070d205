"""The operational figures of DESIGN §10, read from the database: for /metrics and the staff dashboard.

Each latency figure is a `Figure`: which rows, which value, which timestamp. /metrics turns a figure
into a cumulative Prometheus histogram over all rows (SQL does the bucket counts); the dashboard
takes the raw values of a window (24 h, 7 d) and their percentiles. Counters count append-only rows
(job events, compute calls, audit entries); rows pruned after their retention leave their counts in
`MetricOffset`, so a counter never goes down. docs/operations.md says why the database and not a
Prometheus multiprocess directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, FloatField, Max, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from translations.models import AuditEntry, ComputeCall, JobEvent, MetricOffset, PageResult, TranslationJob

# A sample of one exported series: (name, ((label, value), …)).
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[SampleKey, float]

SIGN_IN_FAILED = "auth.sign_in_failed"


@dataclass(frozen=True)
class Figure:
    """A latency figure: `value` (seconds) and `at` (when) of each row of `rows()`."""

    metric: str  # the histogram's name in /metrics
    title: str  # on the dashboard
    rows: Callable[[], QuerySet]
    value: Callable[[], object]  # an expression in seconds, annotated as `v`
    at: str  # the field that dates a row
    buckets: tuple[float, ...]


def _page_seconds():
    return Cast(KeyTextTransform("elapsed_ms", "payload"), FloatField()) / 1000.0


def _compute_seconds():
    return Cast(F("elapsed_ms"), FloatField()) / 1000.0


def _delay():
    return ExpressionWrapper(F("delivered_at") - F("created_at"), output_field=DurationField())


COLD_START = Figure(
    metric="mangasite_cold_start_seconds",
    title="Cold start (compute service)",
    rows=lambda: ComputeCall.objects.filter(cold_start=True, outcome=ComputeCall.Outcome.ANSWERED),
    value=_compute_seconds,
    at="created_at",
    buckets=(1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 300),
)
SINGLE_PAGE = Figure(
    metric="mangasite_page_seconds",
    title="Single page",
    rows=lambda: JobEvent.objects.filter(type=JobEvent.Type.PAGE_SUCCEEDED, payload__status="succeeded"),
    value=_page_seconds,
    at="created_at",
    buckets=(1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
)
PROGRESS_DELAY = Figure(
    metric="mangasite_progress_delay_seconds",
    title="Progress delay (event written → sent to a browser)",
    rows=lambda: JobEvent.objects.filter(delivered_at__isnull=False),
    value=_delay,
    at="created_at",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CHAPTER_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)


# --- Histograms for /metrics ------------------------------------------------------------------


def figure_histogram(figure: Figure) -> Samples:
    """The cumulative histogram of a figure over all its rows, counted by the database."""
    rows = figure.rows().annotate(v=figure.value())
    if figure is PROGRESS_DELAY:
        limits = {f"le{i}": Q(v__lte=timedelta(seconds=b)) for i, b in enumerate(figure.buckets)}
    else:
        limits = {f"le{i}": Q(v__lte=b) for i, b in enumerate(figure.buckets)}
    totals = rows.aggregate(count=Count("pk"), total=Sum("v"), **{k: Count("pk", filter=q) for k, q in limits.items()})
    total = totals["total"] or 0
    if isinstance(total, timedelta):
        total = total.total_seconds()
    counts = [totals[f"le{i}"] for i in range(len(figure.buckets))]
    return histogram_samples(figure.metric, figure.buckets, counts, totals["count"], float(total))


def histogram_samples(name: str, buckets, counts: list[int], count: int, total: float, labels=()) -> Samples:
    samples: Samples = {}
    for bound, bucket_count in zip(buckets, counts, strict=True):
        samples[(f"{name}_bucket", (*labels, ("le", _le(bound))))] = bucket_count
    samples[(f"{name}_bucket", (*labels, ("le", "+Inf")))] = count
    samples[(f"{name}_count", tuple(labels))] = count
    samples[(f"{name}_sum", tuple(labels))] = total
    return samples


def histogram_of_values(name: str, buckets, values: list[float]) -> Samples:
    counts = [sum(1 for v in values if v <= bound) for bound in buckets]
    return histogram_samples(name, buckets, counts, len(values), float(sum(values)))


def _le(bound: float) -> str:
    return repr(float(bound))  # "25.0", as prometheus_client writes bucket bounds


# --- Chapters: a job run from job.started to the job.finished after it --------------------------


def chapter_runs(*, since: datetime | None = None) -> list[tuple[datetime, float]]:
    """(finished at, seconds per 10 pages) of every job run that finished with pages translated.

    A run is a job.started event and the job.finished event that follows it (a retried job has
    several runs). Normalised to 10 pages, the design's chapter_10p, so chapters of any length
    compare; runs that translated nothing (error, cancelled) are left out.
    """
    events = JobEvent.objects.filter(type__in=(JobEvent.Type.JOB_STARTED, JobEvent.Type.JOB_FINISHED))
    if since is not None:
        # A run that finished in the window may have started before it; a day covers any chapter.
        events = events.filter(created_at__gte=since - timedelta(days=1))
    started: dict[int, datetime] = {}
    runs: list[tuple[datetime, float]] = []
    for job_id, kind, created_at, payload in events.order_by("job_id", "seq").values_list(
        "job_id", "type", "created_at", "payload"
    ):
        if kind == JobEvent.Type.JOB_STARTED:
            started[job_id] = created_at
            continue
        begun = started.pop(job_id, None)
        pages = payload.get("pages_total") or 0
        if begun is None or not pages or payload.get("status") not in ("success", "partial"):
            continue
        if since is None or created_at >= since:
            runs.append((created_at, (created_at - begun).total_seconds() * 10 / pages))
    return runs


# --- Counters ---------------------------------------------------------------------------------


def compute_call_series(calls: QuerySet) -> Samples:
    """The counters and the cold-start histogram that compute-call rows add up to.

    Used for the live rows and, by the pruning, for the rows about to go (into MetricOffset).
    """
    samples: Samples = {}
    for outcome, code, n in calls.values_list("outcome", "status_code").annotate(n=Count("pk")).order_by():
        label = str(code) if outcome == ComputeCall.Outcome.ANSWERED else outcome
        key = ("mangasite_compute_requests_total", (("code", label),))
        samples[key] = samples.get(key, 0) + n
    samples[("mangasite_compute_retries_total", ())] = calls.filter(attempt__gt=1).count()
    samples[("mangasite_compute_auth_failures_total", ())] = calls.filter(status_code__in=(401, 403)).count()
    cold = COLD_START.rows().filter(pk__in=calls.values("pk"))
    samples.update(_histogram_of_rows(COLD_START, cold))
    return samples


def _histogram_of_rows(figure: Figure, rows: QuerySet) -> Samples:
    values = [v for (v,) in rows.annotate(v=figure.value()).values_list("v")]
    return histogram_of_values(figure.metric, figure.buckets, values)


def audit_series(entries: QuerySet) -> Samples:
    return {("mangasite_sign_in_failures_total", ()): entries.filter(action=SIGN_IN_FAILED).count()}


def pages_series() -> Samples:
    """Pages finished, by status: one page.succeeded / page.failed event per outcome (retries count again)."""
    samples: Samples = {("mangasite_pages_total", (("status", status),)): 0 for status in ("succeeded", "no_text")}
    samples[("mangasite_pages_total", (("status", "failed"),))] = JobEvent.objects.filter(
        type=JobEvent.Type.PAGE_FAILED
    ).count()
    succeeded = (
        JobEvent.objects.filter(type=JobEvent.Type.PAGE_SUCCEEDED)
        .annotate(s=KeyTextTransform("status", "payload"))
        .values_list("s")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status, n in succeeded:
        samples[("mangasite_pages_total", (("status", status),))] = n
    return samples


def offsets() -> Samples:
    samples: Samples = {}
    for series, value in MetricOffset.objects.values_list("series", "value"):
        name, labels = json.loads(series)
        samples[(name, tuple(tuple(pair) for pair in labels))] = value
    return samples


def offset_key(key: SampleKey) -> str:
    return json.dumps([key[0], [list(pair) for pair in key[1]]])


# --- Gauges -----------------------------------------------------------------------------------


def queue_series() -> Samples:
    jobs = dict(
        TranslationJob.objects.filter(status__in=TranslationJob.ACTIVE)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    pending = PageResult.objects.filter(status=PageResult.Status.PENDING, job__status__in=TranslationJob.ACTIVE).count()
    return {
        ("mangasite_queue_jobs", (("status", "queued"),)): jobs.get("queued", 0),
        ("mangasite_queue_jobs", (("status", "running"),)): jobs.get("running", 0),
        ("mangasite_queue_pages_pending", ()): pending,
    }


def worker_heartbeat(*, now: datetime | None = None) -> datetime | None:
    """The last sign of life of any worker cluster: a finished django-q2 task (the sweeper runs every
    minute) or a page lease renewed by a worker's heartbeat (pages that take longer than that)."""
    from django_q.models import Task

    last_task = Task.objects.aggregate(last=Max("stopped"))["last"]
    last_lease = PageResult.objects.filter(status=PageResult.Status.RUNNING).aggregate(last=Max("lease_expires_at"))[
        "last"
    ]
    if last_lease is not None:
        last_lease = min(last_lease - timedelta(seconds=settings.MANGA_PAGE_LEASE_SEC), now or timezone.now())
    signs = [sign for sign in (last_task, last_lease) if sign is not None]
    return max(signs) if signs else None


def heartbeat_series(*, now: datetime | None = None) -> Samples:
    now = now or timezone.now()
    beat = worker_heartbeat(now=now)
    age = (now - beat).total_seconds() if beat is not None else math.inf
    return {("mangasite_worker_heartbeat_age_seconds", ()): max(age, 0.0)}


# --- Everything /metrics exports --------------------------------------------------------------


def all_series(*, now: datetime | None = None) -> Samples:
    samples: Samples = {}
    for figure in (SINGLE_PAGE, PROGRESS_DELAY):
        samples.update(figure_histogram(figure))
    samples.update(
        histogram_of_values("mangasite_chapter_10p_seconds", CHAPTER_BUCKETS, [s for _, s in chapter_runs()])
    )
    samples.update(compute_call_series(ComputeCall.objects.all()))
    samples.update(audit_series(AuditEntry.objects.all()))
    samples.update(pages_series())
    for key, value in offsets().items():
        samples[key] = samples.get(key, 0) + value
    samples.update(queue_series())
    samples.update(heartbeat_series(now=now))
    return samples


# --- Percentiles for the dashboard ------------------------------------------------------------


def figure_values(figure: Figure, *, since: datetime) -> list[tuple[datetime, float]]:
    rows = figure.rows().filter(**{f"{figure.at}__gte": since}).annotate(v=figure.value())
    values = []
    for at, value in rows.values_list(figure.at, "v"):
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if value is not None:
            values.append((at, float(value)))
    return values


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
