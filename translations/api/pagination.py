"""Cursor pagination: stable pages under concurrent inserts, `?cursor=` from the `next` link."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from translations.api.errors import ApiError


class _Cursor(CursorPagination):
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404; it is a bad query parameter.
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = "cursor is not one this API handed out; follow the next / previous links."
            raise ApiError(status_code=400, code="invalid_filter", message=message) from None


class BySlug(_Cursor):
    ordering = "slug"


class ById(_Cursor):
    ordering = "id"


class NewestFirst(_Cursor):
    ordering = "-id"
