"""Callers of every role, each with an API client: anonymous, reader, staff, and tokens gone bad."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from translations.services.tokens import token_create, token_revoke


@pytest.fixture(autouse=True)
def own_cache(settings):
    # Throttle counters per test, in memory: never another test's, never the shared Redis.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-tests"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, password="a long password", **fields)


@pytest.fixture
def reader(db):
    return _user("reader")


@pytest.fixture
def staff(db):
    return _user("staff", is_staff=True)


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def reader_client(reader) -> APIClient:
    return bearer(token_create(user=reader, name="reader script").secret)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return bearer(token_create(user=staff, name="staff script").secret)


@pytest.fixture
def revoked_client(staff) -> APIClient:
    issued = token_create(user=staff, name="old")
    token_revoke(token=issued.token)
    return bearer(issued.secret)


@pytest.fixture
def expired_client(staff) -> APIClient:
    issued = token_create(user=staff, name="short", expires_in=timedelta(seconds=1))
    type(issued.token).objects.filter(pk=issued.token.pk).update(expires_at=issued.token.created_at)
    return bearer(issued.secret)
