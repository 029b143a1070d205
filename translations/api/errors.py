"""One error shape for every API failure: `{"error": {"code", "message", "details"}}`.

The codes are stable (docs/api.md lists them); clients branch on `code`, people read
`message`. DRF's own exceptions, the services' refusals and unexpected errors all end here,
and `api_not_found` answers unknown paths under /api/, so nothing under /api/ is HTML.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from translations.services.imports import ImportRefused
from translations.services.jobs import JobConflict, JobRefused, QueueFull

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An API refusal with its own stable code (raised by the API's views)."""

    def __init__(self, *, status_code: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or {}


# DRF exception class → (stable code, status) where DRF's own code is not the one we publish.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "token_invalid",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

# Every code an API response can carry, with its status; docs/api.md explains each.
ERROR_CODES: dict[str, int] = {
    "invalid": 400,
    "malformed_request": 400,
    "invalid_filter": 400,
    "job_refused": 400,
    "import_refused": 400,
    "not_authenticated": 401,
    "token_invalid": 401,
    "token_revoked": 401,
    "token_expired": 401,
    "permission_denied": 403,
    "staff_required": 403,
    "not_found": 404,
    "file_missing": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "job_conflict": 409,
    "chapter_busy": 409,
    "job_finished": 409,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "throttled": 429,
    "queue_full": 429,
    "server_error": 500,
}


def error_body(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception a view raises becomes the one error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        body = error_body("request_too_large", f"The request is too large: {exc}.")
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    if isinstance(exc, JobConflict):
        details = {"active_job": exc.job.pk} if exc.job is not None else {}
        body, code = error_body("job_conflict", str(exc), details), 409
    elif isinstance(exc, QueueFull):
        from django.conf import settings

        retry_after = settings.MANGA_API_QUEUE_RETRY_AFTER_SEC
        headers["Retry-After"] = str(retry_after)
        body, code = error_body("queue_full", str(exc), {"retry_after": retry_after}), 429
    elif isinstance(exc, JobRefused):
        body, code = error_body("job_refused", str(exc)), 400
    elif isinstance(exc, ImportRefused):
        body, code = error_body("import_refused", str(exc)), 400
    elif isinstance(exc, ApiError):
        body, code = error_body(exc.code, exc.message, exc.details), exc.status_code
    elif isinstance(exc, exceptions.APIException):
        body, code = _drf_error(exc, headers), exc.status_code
    else:
        view = context.get("view")
        logger.exception("API error in %s", type(view).__name__ if view else "an API view", exc_info=exc)
        body, code = error_body("server_error", "The server failed to answer; the error is logged."), 500
    return Response(body, status=code, headers=headers)


def _drf_error(exc: exceptions.APIException, headers: dict[str, str]) -> dict[str, Any]:
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid")
    if isinstance(exc, exceptions.AuthenticationFailed) and getattr(exc, "api_code", None):
        code = exc.api_code  # token_revoked / token_expired from our authentication
    elif isinstance(exc, exceptions.PermissionDenied) and getattr(exc.detail, "code", None) in ERROR_CODES:
        code = exc.detail.code  # staff_required from our permissions
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        wait = max(int(exc.wait + 0.999), 1)
        headers["Retry-After"] = str(wait)
        return error_body(code, f"Too many requests; try again in {wait} s.", {"retry_after": wait})
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_body(code, "The request is not valid; see details for each field.", {"fields": detail})
    return error_body(code, str(exc.detail))


@csrf_exempt  # the answer is a 404 whatever the method; a CSRF refusal would be an HTML 403
def api_not_found(request: HttpRequest, unknown: str = "") -> JsonResponse:
    """Unknown paths under /api/: the API's 404, never the site's HTML page."""
    message = f"No API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            if resolve(request.path + "/").func is not api_not_found:
                message += f" Did you mean {request.path}/ ?"
        except Resolver404:
            pass
    return JsonResponse(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's handler500: JSON under /api/ (errors outside the API views), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        body = error_body("server_error", "The server failed to answer; the error is logged.")
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)
