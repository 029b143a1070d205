"""Cursor pagination: stable pages under concurrent inserts, `?cursor=` from the `next` link."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class _Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class BySlug(_Cursor):
    ordering = "slug"


class ById(_Cursor):
    ordering = "id"


class NewestFirst(_Cursor):
    ordering = "-id"
