"""Shared test set-up: every test gets its own empty data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings
from django_q.brokers import get_broker

# The pipeline's own tests run in a separate, Django-free invocation (translations/pipeline/tests/pytest.ini).
collect_ignore = ["translations/pipeline/tests"]
# `stack_factory`: daphne and a qcluster as real processes, for the end-to-end tests of every app.
pytest_plugins = ["translations.tests.live_stack"]


def pytest_configure(config) -> None:
    # Tests run with DEBUG off, as production does; the servers they import (asgi.py) refuse the placeholder key.
    if django_settings.SECRET_KEY == django_settings.UNSET_SECRET_KEY:
        django_settings.SECRET_KEY = "test-only-secret-key-not-for-any-deployment"  # noqa: S105
        # django-q2 copied the key when this file imported it; tasks signed here must verify in the
        # worker subprocesses, which get this key from the environment.
        from django_q.conf import Conf

        Conf.SECRET_KEY = django_settings.SECRET_KEY
    # The SQLite test database is a file under data/, which a fresh checkout does not have yet.
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        Path(database["TEST"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)


def pytest_report_header(config) -> str:
    database = django_settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "redis" if django_settings.REDIS_URL else "orm"
    return f"mangasite setup: database={database} broker={broker}"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.MANGA_DATA_DIR = tmp_path / "data"
    settings.MANGA_DATA_DIR.mkdir()
    return settings.MANGA_DATA_DIR


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run with DEBUG off and no collectstatic, so the manifest storage would know no files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def broker():
    """The django-q2 broker of this setup (ORM or Redis), empty before and after the test."""
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A new channel-layer object for every test.

    Each `async_to_sync` in a test runs its own event loop, and a channels-redis layer binds its
    receive lock to the first loop that receives: a receive left pending by one test would break
    the next one's ("bound to a different event loop"). Production processes keep one loop.
    """
    yield
    channel_layers.backends.clear()
