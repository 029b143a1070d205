"""The staff dashboard: percentiles over 24 h and 7 d, hourly charts, queue, failures by stage and the
transport ratio per chapter, from the database; for staff only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from translations.dashboard import dashboard_figures, hourly_bars
from translations.figures import percentile
from translations.models import ComputeCall, JobEvent, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import make_chapter, make_staff

pytestmark = pytest.mark.django_db


def page_done(job: TranslationJob, *, seconds: float, hours_ago: float, now) -> None:
    seq = (JobEvent.objects.filter(job=job).order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    JobEvent.objects.create(
        job=job,
        seq=seq,
        type="page.succeeded",
        payload={"page": seq, "status": "succeeded", "elapsed_ms": round(seconds * 1000)},
        created_at=now - timedelta(hours=hours_ago),
    )


def page_failed(job: TranslationJob, *, stage: str, now) -> None:
    seq = JobEvent.objects.filter(job=job).order_by("-seq").values_list("seq", flat=True).first() + 1  # type: ignore[operator]
    JobEvent.objects.create(job=job, seq=seq, type="page.failed", payload={"failure_stage": stage}, created_at=now)


@pytest.fixture
def history():
    now = timezone.now()
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", backend="cloudrun")
    # Inside 24 h: 1..10 s; between 1 and 7 days ago: 100 s pages, seen in 7 d only.
    for seconds in range(1, 11):
        page_done(job, seconds=seconds, hours_ago=seconds, now=now)
    for day in (2, 3):
        page_done(job, seconds=100, hours_ago=24 * day, now=now)
    page_done(job, seconds=999, hours_ago=24 * 8, now=now)  # older than 7 d: nowhere
    for stage in ("detect", "detect", "remote"):
        page_failed(job, stage=stage, now=now)
    ComputeCall.objects.create(outcome="answered", status_code=503, attempt=1)
    ComputeCall.objects.create(outcome="answered", status_code=200, attempt=2, cold_start=True, elapsed_ms=12000)
    ComputeCall.objects.create(outcome="timeout", attempt=1)
    finished = chapter_request_translation(
        chapter=make_chapter(1, slug="far-away"), translator="test", backend="cloudrun"
    )
    TranslationJob.objects.filter(pk=finished.pk).update(
        status="success", finished_at=now, remote_elapsed_ms_total=4000, translate_elapsed_ms_total=10000
    )
    return now, job, finished


def test_percentiles_cover_each_window_and_nothing_older(history):
    now, _, _ = history

    rows = {row.title: row for row in dashboard_figures(now=now)["figures"]}

    single = rows["Single page"]
    day, week = single.windows
    assert (day.window, day.count, day.p50, day.p95) == ("24 h", 10, 5.0, 10.0)
    assert (week.window, week.count, week.p50, week.p95) == ("7 d", 12, 6.0, 100.0)
    assert len(single.bars) == 10  # one bar per hour that had pages
    cold = rows["Cold start (compute service)"].windows[0]
    assert (cold.count, cold.p95) == (1, 12.0)


def test_it_shows_queue_failures_compute_health_and_the_transport_trigger(history):
    now, _, finished = history

    figures = dashboard_figures(now=now)

    assert figures["queue"] == {"queued": 1, "running": 0, "pages_pending": 1}
    assert figures["failures"] == [("detect", 2), ("remote", 1)]
    assert figures["compute"] == {
        "requests": 3,
        "unavailable": 1,
        "unavailable_rate": pytest.approx(1 / 3),
        "auth_failures": 0,
        "retries": 1,
        "no_answer": 1,
    }
    [transport] = figures["transport"]
    assert (transport.job_id, transport.ratio, transport.over_trigger) == (finished.pk, 0.4, True)


def test_the_page_renders_for_staff_with_inline_svg_charts(client, history):
    staff = make_staff()
    client.force_login(staff)

    response = client.get(reverse("staff-dashboard"))

    assert response.status_code == 200
    html = response.content.decode()
    charts = re.findall(r'<svg class="ops-chart".*?</svg>', html, re.DOTALL)
    assert len(charts) == 4
    assert sum(chart.count("<rect ") for chart in charts) == 10 + 1  # single-page hours + the one cold start
    assert "<td>10</td>" in html and "10.00 s" in html and "100.00 s" in html
    assert 'class="ops-over">0.40' in html
    assert "http://" not in html.split("<body", 1)[1].split("</body>")[0].replace("http://www.w3.org", "")


def test_readers_are_refused_and_visitors_sent_to_sign_in(client, django_user_model):
    assert client.get(reverse("staff-dashboard")).status_code == 302
    client.force_login(django_user_model.objects.create_user(username="reader", password="a long password 1"))
    assert client.get(reverse("staff-dashboard")).status_code == 403


def test_bars_scale_to_the_tallest_hour():
    now = timezone.now()
    bars = hourly_bars([(now - timedelta(minutes=30), 2.0), (now - timedelta(hours=5, minutes=1), 8.0)], now=now)

    assert [round(bar.height, 1) for bar in bars] == [40.0, 10.0]
    assert bars[0].x < bars[1].x  # older hours on the left
    assert bars[1].label == "1 h ago: p95 2.00 s"


def test_percentile_is_nearest_rank():
    assert percentile([], 95) is None
    assert percentile([3.0], 50) == 3.0
    assert percentile([float(v) for v in range(1, 21)], 95) == 19.0
