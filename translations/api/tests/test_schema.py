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
