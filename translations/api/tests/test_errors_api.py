"""One error shape everywhere under /api/: unknown paths, bad bodies, methods, throttles, server errors."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from mangasite import urls
from translations.api.errors import server_error
from translations.api.tests.conftest import bearer
from translations.services.tokens import token_create
from translations.tests.job_helpers import make_chapter

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_api_paths_answer_json_404(staff_client, anonymous):
    assert_error(staff_client.get("/api/v1/nothing/here/"), 404, "not_found")
    assert_error(anonymous.get("/api/v2/"), 404, "not_found")
    hint = assert_error(staff_client.get("/api/v1/manga"), 404, "not_found")
    assert "/api/v1/manga/" in hint["message"]


def test_a_missing_object_is_json_404(staff_client):
    assert_error(staff_client.get("/api/v1/jobs/424242/"), 404, "not_found")


def test_malformed_json_is_a_400(staff_client):
    response = staff_client.post("/api/v1/jobs/", data="{not json", content_type="application/json")

    assert_error(response, 400, "malformed_request")


def test_an_unsupported_body_type_is_a_415(staff_client):
    response = staff_client.post("/api/v1/jobs/", data="chapter=1", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_a_wrong_method_is_a_405(staff_client):
    assert_error(staff_client.put("/api/v1/manga/", {}, format="json"), 405, "method_not_allowed")


def test_an_unexpected_failure_is_a_json_500_and_logged(staff_client, monkeypatch, caplog):
    chapter = make_chapter(1)

    def broken(**kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("translations.api.views.jobs.chapter_request_translation", broken)
    staff_client.raise_request_exception = False

    response = staff_client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json")

    error = assert_error(response, 500, "server_error")
    assert "fire" not in error["message"]
    assert "the disk is on fire" in caplog.text


def test_a_failure_outside_the_api_views_is_still_json():
    response = server_error(RequestFactory().get("/api/v1/manga/"))

    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
    assert urls.handler500 == "translations.api.errors.server_error"
    assert server_error(RequestFactory().get("/admin/")).headers["Content-Type"].startswith("text/html")


def test_each_user_is_throttled_with_retry_after(reader, settings):
    settings.MANGA_API_THROTTLE_RATES = {"anon": "100/minute", "user": "3/minute", "token": "100/minute"}
    one = bearer(token_create(user=reader, name="one").secret)
    two = bearer(token_create(user=reader, name="two").secret)

    answers = [one.get("/api/v1/manga/").status_code, two.get("/api/v1/manga/").status_code]
    answers.append(one.get("/api/v1/manga/").status_code)
    refused = two.get("/api/v1/manga/")

    assert answers == [200, 200, 200]
    error = assert_error(refused, 429, "throttled")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert error["details"]["retry_after"] == int(refused.headers["Retry-After"])


def test_each_token_is_throttled_on_its_own(reader, settings):
    settings.MANGA_API_THROTTLE_RATES = {"anon": "100/minute", "user": "100/minute", "token": "2/minute"}
    one = bearer(token_create(user=reader, name="one").secret)
    two = bearer(token_create(user=reader, name="two").secret)

    assert [one.get("/api/v1/manga/").status_code for _ in range(2)] == [200, 200]
    assert_error(one.get("/api/v1/manga/"), 429, "throttled")
    assert two.get("/api/v1/manga/").status_code == 200


def test_anonymous_callers_are_throttled_by_address(settings):
    settings.MANGA_PUBLIC_LIBRARY = True
    settings.MANGA_API_THROTTLE_RATES = {"anon": "1/minute", "user": "100/minute", "token": "100/minute"}

    assert APIClient().get("/api/v1/manga/").status_code == 200
    assert_error(APIClient().get("/api/v1/manga/"), 429, "throttled")


def test_writes_to_unknown_api_paths_are_json_404_not_a_csrf_page(staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    assert_error(client.post("/api/v1/jobs/0.5/retry/"), 404, "not_found")
    assert_error(client.delete("/api/v1/chapters/1/pages/"), 404, "not_found")


def test_a_cursor_the_api_did_not_hand_out_is_a_400(reader_client):
    assert_error(reader_client.get("/api/v1/jobs/?cursor=%2C%0B%2F%F3%B9%84%9E6%7D"), 400, "invalid_filter")
