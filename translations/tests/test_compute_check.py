"""`manage.py compute_check` against the real compute service (`python -m compute_service` on loopback):
a good token is safe, a wrong token and a service that is down are not, and a CPU service fails a GPU rollout."""

from __future__ import annotations

import io
import re

import pytest
import requests
from django.core.management import CommandError, call_command

from compute_service.tests.serving import TOKEN, Service, free_port, models_missing
from translations.models import ComputeCall

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def service():
    reason = models_missing()
    if reason:
        pytest.skip(reason)
    running = Service().start()
    try:
        assert running.wait_ready()["status"] == "ok", running.output()
        yield running
    finally:
        running.stop()


@pytest.fixture
def configured(settings, service):
    settings.MANGA_CLOUDRUN_EXEC_URL = service.url
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN
    return settings


def service_counter(service: Service, name: str) -> float:
    text = requests.get(f"{service.url}/metrics", headers={"x-internal-token": TOKEN}, timeout=10).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def run_check(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("compute_check", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_with_the_right_token_it_says_the_switch_is_safe(configured, service):
    refused_before = service_counter(service, "compute_auth_failures_total")
    pages_before = service_counter(service, "compute_requests_total")

    output, error = run_check()

    assert error is None, output
    assert re.search(r"^ok   health: status ok, contract 1 \(ours 1\)$", output, re.MULTILINE), output
    assert "ok   providers: CPUExecutionProvider" in output
    assert "ok   auth refuses a wrong token: 401 as it must" in output
    assert "ok   auth accepts our token: 200" in output
    assert re.search(r"^ok   round trip: [0-9.]+s, \d+ regions, JPEG", output, re.MULTILINE), output
    assert "ok   headers: ASCII" in output
    assert output.rstrip().endswith(f"safe: MANGA_TRANSLATE_EXECUTION_BACKEND=cloudrun may use {service.url}")
    # What reached the service: one deliberately wrong token, one page.
    assert service_counter(service, "compute_auth_failures_total") == refused_before + 1
    assert service_counter(service, "compute_requests_total") == pages_before + 1
    # Only the page counts in our metrics; the probes are not pages.
    assert list(ComputeCall.objects.values_list("status_code", flat=True)) == [200]


def test_with_a_wrong_token_it_refuses_and_sends_no_page(configured, service):
    configured.MANGA_INTERNAL_API_TOKEN = "not-the-service-token-0123456789"
    pages_before = service_counter(service, "compute_requests_total")

    output, error = run_check()

    assert error is not None and "not safe to switch" in str(error)
    refused = "FAIL auth accepts our token: answered 401: MANGA_INTERNAL_API_TOKEN is not one the service accepts"
    assert refused in output
    assert "round trip" not in output
    assert service_counter(service, "compute_requests_total") == pages_before
    assert not ComputeCall.objects.exists()


def test_when_the_service_is_down_it_says_it_cannot_reach_it(settings, db):
    settings.MANGA_CLOUDRUN_EXEC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN

    output, error = run_check("--warmup-wait", "0")

    assert error is not None
    assert re.search(r"^FAIL health: cannot reach http://127\.0\.0\.1:\d+: ConnectionError", output, re.MULTILINE)
    assert "auth" not in output


def test_a_cpu_service_fails_a_rollout_that_requires_a_gpu(configured, service):
    output, error = run_check("--require-gpu")

    assert error is not None
    assert "FAIL providers: CPUExecutionProvider; a GPU is required: CUDAExecutionProvider must be one" in output


def test_without_a_url_or_token_it_says_what_is_missing(settings, db):
    settings.MANGA_CLOUDRUN_EXEC_URL = ""
    settings.MANGA_INTERNAL_API_TOKEN = "short"

    output, error = run_check()

    assert error is not None
    assert "FAIL config: MANGA_CLOUDRUN_EXEC_URL '' is not an http(s) URL; MANGA_INTERNAL_API_TOKEN is unset" in output
