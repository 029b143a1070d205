"""`/metrics`: protected, parsed with the Prometheus text parser after a real job, counters that never go down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from translations import executors
from translations.models import ComputeCall, JobEvent, MetricOffset
from translations.services.audit import audit_prune, audit_record
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.services.telemetry import compute_calls_prune
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter, make_staff

TOKEN = "an internal token 0123456789"
METRICS_TOKEN = "a metrics token 0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_token(settings):
    settings.MANGA_METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def scrape(client: Client, token: str = METRICS_TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_it_refuses_a_scrape_without_the_token_or_a_staff_session(client, metrics_token, django_user_model):
    assert client.get(reverse("metrics")).status_code == 403
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong-token-0123456789").status_code == 403
    reader = django_user_model.objects.create_user(username="reader", password="a long password")
    client.force_login(reader)
    assert client.get(reverse("metrics")).status_code == 403


def test_it_lets_staff_in_without_a_token(client):
    client.force_login(make_staff())
    assert client.get(reverse("metrics")).status_code == 200


def test_a_real_job_through_the_compute_service_shows_in_every_series(client, settings, metrics_token, monkeypatch):
    monkeypatch.setattr(executors, "_wait", lambda seconds: None)  # the backoff, not slept
    with ComputeStub(token=TOKEN, script={"001.png": ["cold:0.3"], "002.png": ["503", "401"]}) as stub:
        settings.MANGA_CLOUDRUN_EXEC_URL = stub.url
        settings.MANGA_INTERNAL_API_TOKEN = TOKEN
        settings.MANGA_CLOUDRUN_EXECUTOR_RETRIES = 2
        job = chapter_request_translation(chapter=make_chapter(3), translator="test", backend="cloudrun")
        job_run(job_id=job.pk)
        sent = [(request.page, request.step) for request in stub.requests]

    assert sent == [("001.png", "cold:0.3"), ("002.png", "503"), ("002.png", "401"), ("003.png", "ok")]
    samples = scrape(client)

    def value(name: str, **labels) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    # Page 2: a 503, retried, then a 401 (not retryable): failed. Pages 1 and 3 translated.
    assert value("mangasite_compute_requests_total", code="200") == 2
    assert value("mangasite_compute_requests_total", code="503") == 1
    assert value("mangasite_compute_requests_total", code="401") == 1
    assert value("mangasite_compute_retries_total") == 1
    assert value("mangasite_compute_auth_failures_total") == 1
    assert value("mangasite_pages_total", status="succeeded") == 2
    assert value("mangasite_pages_total", status="failed") == 1
    assert value("mangasite_pages_total", status="no_text") == 0
    # The cold start took the stub's 0.3 s plus the round trip.
    assert value("mangasite_cold_start_seconds_count") == 1
    assert 0.3 <= value("mangasite_cold_start_seconds_sum") < 5
    assert value("mangasite_cold_start_seconds_bucket", le="1.0") == 1
    assert value("mangasite_page_seconds_count") == 2
    elapsed = sorted(
        JobEvent.objects.filter(job=job, type="page.succeeded").values_list("payload__elapsed_ms", flat=True)
    )
    assert value("mangasite_page_seconds_sum") == pytest.approx(sum(elapsed) / 1000)
    assert value("mangasite_page_seconds_bucket", le="+Inf") == 2
    assert value("mangasite_chapter_10p_seconds_count") == 1
    assert value("mangasite_queue_jobs", status="queued") == 0
    assert value("mangasite_queue_pages_pending") == 0
    # No WebSocket watched this job: no delivery, no delay figure.
    assert value("mangasite_progress_delay_seconds_count") == 0


def test_progress_delay_is_measured_from_written_to_first_delivered(client, metrics_token):
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", backend="local")
    event = JobEvent.objects.get(job=job, seq=1)
    JobEvent.objects.filter(pk=event.pk).update(delivered_at=event.created_at + timedelta(milliseconds=40))

    samples = scrape(client)

    assert samples[("mangasite_progress_delay_seconds_count", ())] == 1
    assert samples[("mangasite_progress_delay_seconds_sum", ())] == pytest.approx(0.04)
    assert samples[("mangasite_progress_delay_seconds_bucket", (("le", "0.025"),))] == 0
    assert samples[("mangasite_progress_delay_seconds_bucket", (("le", "0.05"),))] == 1


def test_pruning_old_rows_never_makes_a_counter_go_down(client, metrics_token, settings):
    old = timezone.now() - timedelta(days=settings.MANGA_METRICS_RETENTION_DAYS + 1)
    ComputeCall.objects.create(outcome="answered", status_code=503, elapsed_ms=100, created_at=old)
    ComputeCall.objects.create(outcome="answered", status_code=200, elapsed_ms=20000, cold_start=True, created_at=old)
    ComputeCall.objects.create(outcome="timeout", elapsed_ms=120000, attempt=2)
    entry = audit_record(actor=None, action="auth.sign_in_failed", message="failed sign-in as 'x'")
    type(entry).objects.filter(pk=entry.pk).update(created_at=old)
    before = scrape(client)

    assert compute_calls_prune() == 2
    assert audit_prune() == 1
    after = scrape(client)

    assert ComputeCall.objects.count() == 1
    assert MetricOffset.objects.exists()
    for key in (
        ("mangasite_compute_requests_total", (("code", "503"),)),
        ("mangasite_compute_requests_total", (("code", "200"),)),
        ("mangasite_compute_requests_total", (("code", "timeout"),)),
        ("mangasite_compute_retries_total", ()),
        ("mangasite_cold_start_seconds_count", ()),
        ("mangasite_cold_start_seconds_bucket", (("le", "25.0"),)),
        ("mangasite_sign_in_failures_total", ()),
    ):
        assert after[key] == before[key], key
    assert after[("mangasite_compute_requests_total", (("code", "503"),))] == 1
    assert after[("mangasite_cold_start_seconds_sum", ())] == pytest.approx(20.0)
    assert after[("mangasite_sign_in_failures_total", ())] == 1


def test_the_heartbeat_age_follows_the_newest_sign_of_a_worker(client, metrics_token):
    from django_q.models import Success

    stopped = timezone.now() - timedelta(seconds=30)
    Success.objects.create(
        id="a" * 32, name="sweep", func="translations.tasks.sweep_jobs", started=stopped, stopped=stopped, success=True
    )

    age = scrape(client)[("mangasite_worker_heartbeat_age_seconds", ())]

    assert 30 <= age < 60
