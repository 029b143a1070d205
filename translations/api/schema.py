"""OpenAPI helpers: the documented error answers of each view, and the Bearer security scheme."""

from __future__ import annotations

import copy

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from translations.api.errors import ERROR_CODES
from translations.api.serializers import ErrorSerializer

_REASONS = {
    400: "The request is not valid",
    401: "No credentials, or a token that is unknown, revoked or expired",
    403: "Signed in, but staff only (or a missing CSRF token for a session)",
    404: "No such object, or one the caller may not read",
    409: "Conflicts with the object's state",
    413: "The upload is larger than the server takes",
    415: "Unsupported request body type",
    429: "Rate limit reached or the queue is full; see the Retry-After header",
}

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="the ETag of a copy the client has: 304 when it is still current",
)


def _codes_for(status: int) -> str:
    return ", ".join(f"`{code}`" for code, code_status in ERROR_CODES.items() if code_status == status)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Responses for the given error statuses, plus 401 and 429, which every operation can answer."""
    wanted = sorted({*statuses, 401, 429})
    return {
        status: OpenApiResponse(ErrorSerializer, description=f"{_REASONS[status]}. Codes: {_codes_for(status)}.")
        for status in wanted
    }


def binary(description: str, *content_types: str) -> dict[tuple[int, str], OpenApiResponse]:
    return {(200, ct): OpenApiResponse(OpenApiTypes.BINARY, description=description) for ct in content_types}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "translations.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from /account/tokens/ or `manage.py api_token USERNAME`.",
        }


class CsrfSessionScheme(OpenApiAuthenticationExtension):
    target_class = "translations.api.authentication.CsrfSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The site's session cookie; writes also need the X-CSRFToken header.",
        }


# The largest value of an integer column depends on the database (SQLite 2**63 - 1, PostgreSQL
# 2**31 - 1 for most): drop those bounds so the published schema is one for both setups.
_BACKEND_BOUNDS = {2**31 - 1, 2**63 - 1}


def drop_backend_bounds(result, generator, request, public):
    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "integer" and node.get("maximum") in _BACKEND_BOUNDS:
                node.pop("maximum")
                node.pop("format", None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before sending the request again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ETAG = {
    "ETag": {
        "description": "a strong validator of the body: send it back in If-None-Match",
        "required": True,
        "schema": {"type": "string"},
    }
}


def declare_headers(result, generator, request, public):
    """Per operation: Retry-After on 429, ETag where If-None-Match is taken, 406 where only JSON is answered.

    drf-spectacular has no per-response headers in `OpenApiResponse`, so they are added here, from
    what each operation already declares (its parameters and its success types).
    """
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "429" in responses:
                responses["429"].setdefault("headers", {}).update(_RETRY_AFTER)
            if any(parameter.get("name") == "If-None-Match" for parameter in operation.get("parameters", [])):
                for status in ("200", "304"):
                    if status in responses:
                        responses[status].setdefault("headers", {}).update(_ETAG)
            success_types = {
                content_type
                for status, response in responses.items()
                if status.startswith("2")
                for content_type in response.get("content", {})
            }
            if success_types <= {"application/json"} and "401" in responses and "406" not in responses:
                responses["406"] = {
                    "description": f"The Accept header names no type this operation answers. Codes: {_codes_for(406)}.",
                    "content": copy.deepcopy(responses["401"]["content"]),
                }
    return result
