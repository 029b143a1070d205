"""The published OpenAPI schema: served, checked in without drift, errors documented; the docs page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from translations.api.errors import ERROR_CODES

ROOT = Path(__file__).resolve().parents[3]
PUBLISHED = ROOT / "docs" / "openapi.yaml"


def generated() -> str:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode()


def test_the_checked_in_schema_is_the_codes_schema():
    assert PUBLISHED.read_text(encoding="utf-8") == generated(), "docs/openapi.yaml is stale: run `make openapi`"


def test_every_operation_documents_its_errors_in_the_one_error_shape():
    schema = yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))
    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    ]
    assert len(operations) >= 20
    for method, path, operation in operations:
        responses = operation["responses"]
        assert {"401", "429"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if method in ("post", "delete"):
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
    security = {name for op in (o for _, _, o in operations) for entry in op.get("security", []) for name in entry}
    assert security == {"bearerToken", "session"}


def test_every_error_code_is_listed_in_the_docs():
    listed = set(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", (ROOT / "docs" / "api.md").read_text(), re.M))
    assert listed == {(code, str(status)) for code, status in ERROR_CODES.items()}


@pytest.mark.django_db
def test_the_schema_is_served_to_anyone(client):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Mangasite API"


@pytest.mark.django_db
def test_the_docs_page_uses_vendored_assets_only(client):
    page = client.get("/api/v1/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "//cdn" not in page and "unpkg" not in page


def published_operation(path: str, method: str = "get") -> dict:
    return yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))["paths"][path][method]


@pytest.mark.django_db
def test_the_headers_and_the_406_the_schema_declares_are_the_ones_the_api_sends(reader_client, settings):
    from translations.models import Manga

    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    detail = published_operation("/api/v1/manga/{id}/")

    answer = reader_client.get(f"/api/v1/manga/{manga.pk}/")
    assert "ETag" in answer.headers
    assert detail["responses"]["200"]["headers"]["ETag"]["required"] is True
    again = reader_client.get(f"/api/v1/manga/{manga.pk}/", HTTP_IF_NONE_MATCH=answer.headers["ETag"])
    assert (again.status_code, again.headers["ETag"]) == (304, answer.headers["ETag"])
    assert "ETag" in detail["responses"]["304"]["headers"]

    refused = reader_client.get(f"/api/v1/manga/{manga.pk}/", HTTP_ACCEPT="image/png")
    assert (refused.status_code, refused.json()["error"]["code"]) == (406, "not_acceptable")
    assert "not_acceptable" in detail["responses"]["406"]["description"]

    # A rate lowered below what the user already sent: still a 429 that says when to come back.
    settings.MANGA_API_THROTTLE_RATES = {"anon": "100/minute", "user": "1/minute", "token": "100/minute"}
    throttled = reader_client.get("/api/v1/manga/")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    listing = published_operation("/api/v1/manga/")
    assert listing["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}


def test_binary_answers_declare_no_406_and_every_429_declares_retry_after():
    schema = yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            binary = any(
                content_type.startswith(("image/", "application/zip", "application/vnd", "text/plain"))
                for status, response in responses.items()
                if status.startswith("2")
                for content_type in response.get("content", {})
            )
            assert ("406" in responses) != binary, (method, path)
