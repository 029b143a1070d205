"""Fixtures: one warmed-up compute service per module that asks for it."""

from __future__ import annotations

import pytest

from compute_service.tests.serving import Service, models_missing


@pytest.fixture(scope="module")
def models_present():
    reason = models_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def service(models_present):
    running = Service(MANGA_INTERNAL_API_TOKEN_PREVIOUS="previous-token-0123456789").start()
    try:
        health = running.wait_ready()
        assert health["status"] == "ok", running.output()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def service_without_models(tmp_path_factory):
    """Serves without any model: everything but a page works, and auth and limits are checked first."""
    empty = tmp_path_factory.mktemp("no-models")
    running = Service(
        MANGA_MODEL_DIR=str(empty), MANGA_COMPUTE_MAX_BODY_BYTES=str(64 * 1024), MANGA_MAX_IMAGE_PIXELS="1000000"
    ).start()
    try:
        yield running
    finally:
        running.stop()
