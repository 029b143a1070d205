"""/healthz: warming_up while the models load in the background, then ok with the providers in use."""

from __future__ import annotations

import time

import requests

from compute_service import contract
from compute_service.tests.serving import MODEL_DIR, Service, manga_page, page_request
from translations.pipeline import registry


def balloon_file() -> str:
    """The balloon weights the service opens: the INT8 copy where `make install` made one (on a CPU), else fp32."""
    return registry.model_path("manga-bubble-seg", MODEL_DIR, int8=True).name


def test_healthz_goes_from_warming_up_to_ok_and_the_waiting_request_is_a_cold_start(models_present):
    running = Service(MANGA_COMPUTE_TEST_WARMUP_DELAY_MS="1500").start()
    try:
        first = requests.get(running.url + contract.HEALTH_PATH, timeout=5)
        assert (first.status_code, first.json()["status"], first.json()["providers"]) == (200, "warming_up", [])
        started = time.monotonic()
        cold = running.post_page(page_request(manga_page(), translator="none"))
        assert cold.status_code == 200, cold.text
        assert cold.headers["x-cold-start"] == "true"
        assert time.monotonic() - started > 0.5  # it waited for the warm-up
        health = requests.get(running.url + contract.HEALTH_PATH, timeout=5).json()
        assert health["status"] == "ok"
        assert health["providers"] == ["CPUExecutionProvider"]
        assert set(health["models"]) == {"PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx", balloon_file()}
        warm = running.post_page(page_request(manga_page(), translator="none"))
        assert warm.headers["x-cold-start"] == "false"
    finally:
        running.stop()


def test_healthz_says_error_and_why_when_the_models_are_missing(service_without_models):
    response = requests.get(service_without_models.url + contract.HEALTH_PATH, timeout=5)
    deadline = time.monotonic() + 30
    while response.json()["status"] == "warming_up" and time.monotonic() < deadline:
        time.sleep(0.05)
        response = requests.get(service_without_models.url + contract.HEALTH_PATH, timeout=5)
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "run `python manage.py models fetch" in response.json()["reason"]
