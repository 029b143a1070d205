"""X-Internal-Token: required everywhere but /healthz, compared in constant time, every refusal counted."""

from __future__ import annotations

import subprocess
import sys

import requests

from compute_service import contract
from compute_service.tests.serving import PREVIOUS_TOKEN, ROOT, TOKEN, Service, page_request


def metric(service: Service, name: str) -> float:
    text = requests.get(service.url + contract.METRICS_PATH, headers={"x-internal-token": TOKEN}, timeout=5).text
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def test_it_rejects_a_wrong_token_and_counts_it(service_without_models):
    before = metric(service_without_models, "compute_auth_failures_total")
    response = service_without_models.post_page(page_request(b"x"), token="wrong-token-0123456789")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "wrong x-internal-token", "stage": None}
    assert metric(service_without_models, "compute_auth_failures_total") == before + 1


def test_it_rejects_a_missing_token_and_counts_it(service_without_models):
    before = metric(service_without_models, "compute_auth_failures_total")
    response = service_without_models.post_page(page_request(b"x"), token=None)
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert "missing" in response.json()["message"]
    assert metric(service_without_models, "compute_auth_failures_total") == before + 1


def test_metrics_need_the_token_too(service_without_models):
    response = requests.get(service_without_models.url + contract.METRICS_PATH, timeout=5)
    assert response.status_code == 401
    assert "compute_auth_failures_total" not in response.text


def test_healthz_answers_without_a_token(service_without_models):
    assert requests.get(service_without_models.url + contract.HEALTH_PATH, timeout=5).status_code in (200, 503)


def test_the_previous_token_is_accepted_during_a_rotation(tmp_path):
    running = Service(MANGA_INTERNAL_API_TOKEN_PREVIOUS=PREVIOUS_TOKEN, MANGA_MODEL_DIR=str(tmp_path)).start()
    try:
        # Past auth, the (empty) image is what gets refused: the token was accepted.
        response = running.post_page(page_request(b"not an image"), token=PREVIOUS_TOKEN)
        assert (response.status_code, response.json()["error"]) == (400, "corrupt_image")
        assert running.post_page(page_request(b"x"), token="stale-token-0123456789").status_code == 401
    finally:
        running.stop()


def test_a_token_from_a_file_is_accepted(tmp_path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    running = Service(
        MANGA_INTERNAL_API_TOKEN="", MANGA_INTERNAL_API_TOKEN_FILE=str(secret), MANGA_MODEL_DIR=str(tmp_path)
    )
    running.start()
    try:
        assert running.post_page(page_request(b"not an image")).status_code == 400
    finally:
        running.stop()


def test_it_refuses_to_start_without_a_token():
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "compute_service", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "MANGA_INTERNAL_API_TOKEN (or MANGA_INTERNAL_API_TOKEN_FILE) is required" in result.stderr
