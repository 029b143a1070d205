"""The numbers of the staff dashboard (`/staff/dashboard/`), read from the database so it works
without Prometheus: the design's latency figures over 24 h and 7 d, queue depth, recent failures
by stage, compute-service health and the transport ratio of recent chapters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from translations import figures
from translations.models import ComputeCall, ExecutionBackend, JobEvent, TranslationJob

WINDOWS = (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)))
# DESIGN §6/§10: above this share of translate time spent on transport, results should go
# straight to object storage instead of back through the worker.
TRANSPORT_RATIO_TRIGGER = 0.35
CHART_WIDTH, CHART_HEIGHT, CHART_HOURS = 240, 40, 24


@dataclass(frozen=True)
class WindowFigures:
    window: str
    count: int
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the tooltip: hour and p95


@dataclass(frozen=True)
class FigureRow:
    title: str
    windows: list[WindowFigures]
    bars: list[Bar]  # p95 per hour over the last 24 h, scaled into the chart


@dataclass(frozen=True)
class ChapterTransport:
    job_id: int
    chapter: str
    ratio: float
    over_trigger: bool


def dashboard_figures(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    week_ago = now - timedelta(days=7)
    series = {
        figure.title: figures.figure_values(figure, since=week_ago)
        for figure in (figures.COLD_START, figures.SINGLE_PAGE, figures.PROGRESS_DELAY)
    }
    series["Chapter, per 10 pages"] = figures.chapter_runs(since=week_ago)
    rows = [_figure_row(title, values, now=now) for title, values in series.items()]
    queue = figures.queue_series()
    beat = figures.worker_heartbeat(now=now)
    return {
        "figures": rows,
        "queue": {
            "queued": queue[("mangasite_queue_jobs", (("status", "queued"),))],
            "running": queue[("mangasite_queue_jobs", (("status", "running"),))],
            "pages_pending": queue[("mangasite_queue_pages_pending", ())],
        },
        "heartbeat_age": None if beat is None else round((now - beat).total_seconds()),
        "failures": failures_by_stage(since=now - timedelta(hours=24)),
        "compute": compute_health(since=now - timedelta(hours=24)),
        "transport": chapter_transport(since=week_ago),
        "trigger": TRANSPORT_RATIO_TRIGGER,
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
    }


def _figure_row(title: str, values: list[tuple[datetime, float]], *, now: datetime) -> FigureRow:
    windows = []
    for name, span in WINDOWS:
        inside = [v for at, v in values if at >= now - span]
        windows.append(WindowFigures(name, len(inside), figures.percentile(inside, 50), figures.percentile(inside, 95)))
    return FigureRow(title, windows, hourly_bars(values, now=now))


def hourly_bars(values: list[tuple[datetime, float]], *, now: datetime) -> list[Bar]:
    """p95 of each of the last 24 hours as bars, the tallest filling the chart; empty hours have none."""
    hours: list[list[float]] = [[] for _ in range(CHART_HOURS)]
    for at, value in values:
        age = (now - at).total_seconds() / 3600
        if 0 <= age < CHART_HOURS:
            hours[CHART_HOURS - 1 - int(age)].append(value)
    p95s = [figures.percentile(hour, 95) for hour in hours]
    top = max((p for p in p95s if p is not None), default=0) or 1
    width = CHART_WIDTH / CHART_HOURS
    bars = []
    for i, p95 in enumerate(p95s):
        if p95 is None:
            continue
        height = max(1.0, p95 / top * CHART_HEIGHT)
        hours_ago = CHART_HOURS - i
        bars.append(Bar(i * width, CHART_HEIGHT - height, width - 1, height, f"{hours_ago} h ago: p95 {p95:.2f} s"))
    return bars


def failures_by_stage(*, since: datetime) -> list[tuple[str, int]]:
    rows = (
        JobEvent.objects.filter(type=JobEvent.Type.PAGE_FAILED, created_at__gte=since)
        .annotate(stage=KeyTextTransform("failure_stage", "payload"))
        .values_list("stage")
        .annotate(n=Count("pk"))
        .order_by("-n", "stage")
    )
    return [(stage or "unknown", n) for stage, n in rows]


def compute_health(*, since: datetime) -> dict:
    calls = ComputeCall.objects.filter(created_at__gte=since)
    total = calls.count()
    unavailable = calls.filter(status_code=503).count()
    return {
        "requests": total,
        "unavailable": unavailable,
        "unavailable_rate": unavailable / total if total else None,
        "auth_failures": calls.filter(status_code__in=(401, 403)).count(),
        "retries": calls.filter(attempt__gt=1).count(),
        "no_answer": calls.exclude(outcome=ComputeCall.Outcome.ANSWERED).count(),
    }


def chapter_transport(*, since: datetime, limit: int = 20) -> list[ChapterTransport]:
    jobs = (
        TranslationJob.objects.filter(
            backend=ExecutionBackend.CLOUDRUN, finished_at__gte=since, translate_elapsed_ms_total__gt=0
        )
        .select_related("chapter__manga")
        .order_by("-finished_at")[:limit]
    )
    return [
        ChapterTransport(job.pk, str(job.chapter), job.transport_ratio, job.transport_ratio > TRANSPORT_RATIO_TRIGGER)  # type: ignore[arg-type, operator]
        for job in jobs
    ]
