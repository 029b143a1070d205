"""A page through the service: the same image and report as the bare pipeline, with the contract's headers."""

from __future__ import annotations

import io
import threading
import time

import requests
from PIL import Image

from compute_service import contract
from compute_service.tests.serving import MODEL_DIR, TOKEN, manga_page, page_request
from translations.pipeline.factory import build_pipeline, get_translator


def test_a_page_with_the_test_translator_comes_back_lettered_with_its_report(service):
    image = manga_page()
    response = service.post_page(page_request(image, context_translations=("Earlier page.",)))
    assert response.status_code == 200, response.text
    page = contract.decode_page_response(response.status_code, response.headers, response.content)
    assert page.image_format == "PNG"
    assert Image.open(io.BytesIO(page.image)).size == (820, 1160)
    assert page.image != image
    assert [region.translation for region in page.report.regions] == [
        "Block 1: the quick brown fox jumps over the lazy dog.",
        "Block 2: the quick brown fox jumps over the lazy dog.",
    ]
    assert page.meta.regions_count == 2
    assert page.meta.model_selected == "fixed-text"
    assert page.meta.fallback_used is False
    assert set(page.meta.stage_elapsed_ms) >= {"load", "detect", "ocr", "translate", "inpaint", "letter", "encode"}
    assert page.meta.remote_elapsed_ms >= sum(page.meta.stage_elapsed_ms.values())
    assert page.meta.contract_version == contract.CONTRACT_VERSION


def test_the_service_answers_what_the_bare_pipeline_answers(service):
    image = manga_page("JPEG")
    response = service.post_page(page_request(image))
    page = contract.decode_page_response(response.status_code, response.headers, response.content)
    local = build_pipeline(MODEL_DIR).run(
        image, translator=get_translator("test"), source_language="ja", target_language="en"
    )
    assert page.image_format == local.format == "JPEG"
    assert page.image == local.image
    assert page.report.regions == local.report.regions


def test_the_none_translator_cleans_the_page_and_reports_the_source_text(service):
    response = service.post_page(page_request(manga_page(), translator="none"))
    page = contract.decode_page_response(response.status_code, response.headers, response.content)
    assert page.report.mode == "cleaning"
    assert page.report.regions[0].source_text.startswith("こんにちは")
    assert all(region.translation is None for region in page.report.regions)
    assert page.meta.model_selected == "none"


def test_every_response_header_is_ascii_and_non_ascii_values_arrive_percent_encoded(service):
    response = service.post_page(page_request(manga_page(), translator="none"))
    # requests decodes header bytes as latin-1: anything above 0x7f would show up here.
    assert all(name.isascii() and value.isascii() for name, value in response.headers.items())
    page = contract.decode_page_response(response.status_code, response.headers, response.content)
    assert "こんにちは" in page.report.regions[0].source_text  # the report carries UTF-8 in the body
    failed = service.post_page(page_request(manga_page(), translator="gemini", primary_model="モデル-β"))
    assert failed.status_code == 422
    assert failed.json()["stage"] == "translate"
    assert all(value.isascii() for value in failed.headers.values())


def test_a_busy_instance_answers_429_with_retry_after_while_health_still_answers(service):
    slow = {}
    thread = threading.Thread(target=lambda: slow.setdefault("r", service.post_page(page_request(manga_page()))))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            health = requests.get(service.url + contract.HEALTH_PATH, timeout=2).json()
            if health["in_flight"]:
                break
            time.sleep(0.01)
        assert health["in_flight"] == 1
        busy = service.post_page(page_request(manga_page()))
        assert (busy.status_code, busy.json()["error"]) == (429, "busy")
        assert int(busy.headers["retry-after"]) >= 1
        error = contract.error_from_response(busy.status_code, busy.headers, busy.content)
        assert error.retryable and error.retry_after >= 1
        started = time.monotonic()
        assert requests.get(service.url + contract.HEALTH_PATH, timeout=2).json()["in_flight"] == 1
        assert time.monotonic() - started < 0.5  # the event loop is not blocked by the page
    finally:
        thread.join()
    assert slow["r"].status_code == 200
    metrics = requests.get(service.url + contract.METRICS_PATH, headers={"x-internal-token": TOKEN}, timeout=5)
    assert "compute_busy_rejections_total 1" in metrics.text
