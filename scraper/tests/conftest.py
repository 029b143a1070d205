"""Scraper test set-up: the local Madara site on loopback, allowed through the SSRF guard, and quick politeness."""

from __future__ import annotations

import pytest
from django.db import connections

from scraper.client import _ConditionalCache
from scraper.testing.madara_site import MadaraSite


@pytest.fixture(autouse=True)
def scraper_settings(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    # Tests that measure politeness set their own; the rest should not wait for it.
    settings.MANGA_SCRAPER_REQUESTS_PER_SEC = 200
    settings.MANGA_SCRAPER_BACKOFF_MS = 10
    settings.MANGA_SCRAPER_READ_TIMEOUT_SEC = 5
    _ConditionalCache.clear()
    yield settings
    _ConditionalCache.clear()


@pytest.fixture
def site():
    with MadaraSite() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def close_database_pools(django_db_setup, django_db_blocker):
    """Fetcher threads leave PostgreSQL connections in the process pool; close it before the test database goes."""
    yield
    with django_db_blocker.unblock():
        for connection in connections.all(initialized_only=True):
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:
                close_pool()
