"""Bad input is refused with a stable code before any model runs: size, pixels, corrupt data, unknown names."""

from __future__ import annotations

import asyncio
import io
import json

import requests
from PIL import Image

from compute_service import contract
from compute_service.app import ComputeApp
from compute_service.config import ServiceConfig
from compute_service.tests.serving import TOKEN, page_request


def test_it_refuses_an_oversized_body_with_413(service_without_models):
    response = service_without_models.post_page(page_request(b"\0" * (65 * 1024)))
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert not contract.is_retryable(response.status_code)


def test_it_stops_reading_a_body_without_a_declared_length_once_it_grows_past_the_cap():
    # Driven in-process, to count how much of the body the app asked for before it stopped.
    app = ComputeApp(ServiceConfig(tokens=(TOKEN,), max_body_bytes=4096))
    messages = [{"type": "http.request", "body": b"\0" * 1024, "more_body": True}] * 10
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    headers = [(b"x-internal-token", TOKEN.encode()), (b"content-type", b"multipart/form-data; boundary=x")]
    scope = {"type": "http", "method": "POST", "path": contract.TRANSLATE_PATH, "headers": headers}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "too_large"
    assert len(messages) == 5  # it stopped reading at the fifth kilobyte


def test_it_refuses_a_corrupt_image_with_400_and_a_code(service_without_models):
    response = service_without_models.post_page(page_request(b"\x89PNG\r\n\x1a\n this is not a png"))
    assert response.status_code == 400
    assert response.json()["error"] == "corrupt_image"
    assert response.headers["x-failure-stage"] == "load"


def test_it_refuses_a_page_over_the_pixel_limit_from_its_header(service_without_models):
    buffer = io.BytesIO()
    Image.new("L", (1200, 1000)).save(buffer, format="PNG")  # 1.2 Mpx against a 1 Mpx limit: a few KB
    response = service_without_models.post_page(page_request(buffer.getvalue()))
    assert (response.status_code, response.json()["error"]) == (413, "too_many_pixels")


def test_it_refuses_an_unknown_translator_and_an_unknown_language(service_without_models):
    unknown = service_without_models.post_page(page_request(b"x", translator="babelfish"))
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unknown_translator")
    language = service_without_models.post_page(page_request(b"x", target_language="klingon"))
    assert (language.status_code, language.json()["error"]) == (400, "unknown_language")


def test_it_refuses_a_client_that_speaks_another_contract_version(service_without_models):
    headers = {**contract.request_headers(TOKEN), "x-contract-version": "0"}
    response = requests.post(
        service_without_models.url + contract.TRANSLATE_PATH,
        headers=headers,
        timeout=30,
        **page_request(b"x").to_multipart(),
    )
    assert (response.status_code, response.json()["error"]) == (400, "contract_mismatch")


def test_unknown_routes_and_methods_get_json_errors(service_without_models):
    missing = requests.get(service_without_models.url + "/nope", timeout=5)
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    wrong = requests.get(service_without_models.url + contract.TRANSLATE_PATH, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


def test_a_page_is_refused_with_503_when_the_models_could_not_load(service_without_models):
    health = service_without_models.wait_ready()
    assert health["status"] == "error"
    assert "ModelMissing" in health["reason"]
    response = service_without_models.post_page(page_request(white_png()))
    assert (response.status_code, response.json()["error"]) == (503, "not_ready")
    assert contract.is_retryable(response.status_code)


def white_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="PNG")
    return buffer.getvalue()
