"""Scraper test set-up: the local Madara site on loopback, allowed through the SSRF guard, and quick politeness."""

from __future__ import annotations

import pytest

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
