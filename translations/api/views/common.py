"""What the API views share: ETags on detail answers, query-parameter parsing, file answers."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import cast

from django.http import FileResponse
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from translations import storage
from translations.api.errors import ApiError


class ETagMixin:
    """A retrieve answer carries a strong ETag of its body; a matching If-None-Match gets 304."""

    def retrieve(self, request, *args, **kwargs) -> Response:
        view = cast(GenericAPIView, self)
        data = view.get_serializer(view.get_object()).data
        body = JSONRenderer().render(data)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in _etags(request.headers.get("If-None-Match", "")):
            return Response(status=304, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})


def _etags(header: str) -> set[str]:
    tags = {tag.strip() for tag in header.split(",")}
    return {tag.removeprefix("W/") for tag in tags if tag}


def int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 1 or value > 2**63 - 1:
        raise ApiError(status_code=400, code="invalid_filter", message=f"{name} must be a positive integer id.")
    return value


def choice_param(request, name: str, choices: list[str] | tuple[str, ...]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ApiError(status_code=400, code="invalid_filter", message=f"{name} must be one of: {', '.join(choices)}.")
    return raw


class AnyAccept(BaseContentNegotiation):
    """File answers are what they are: a client's Accept header does not turn them into a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0]


def stored_file(relative: str, *, content_type: str | None = None, filename: str | None = None) -> FileResponse:
    """The stored file under MANGA_DATA_DIR, or a 404 in the API's shape when it is missing or refused."""
    try:
        path: Path = storage.resolve_path(relative)
    except storage.StorageError:
        path = Path("/nonexistent")
    if not relative or not path.is_file():
        raise ApiError(status_code=404, code="file_missing", message="The file is missing from storage.")
    response = FileResponse(path.open("rb"), content_type=content_type)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
