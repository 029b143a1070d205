from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from mangasite import checks


def ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_a_site_with_a_secret_key_passes_every_check(settings):
    settings.SECRET_KEY = "a-real-secret"
    for check in (
        checks.check_secret_key,
        checks.check_execution_backend,
        checks.check_translator,
        checks.check_task_queue,
        checks.check_data_dir,
    ):
        assert check(None) == []


def test_it_refuses_an_empty_secret_key_without_debug(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = settings.UNSET_SECRET_KEY
    assert ids(checks.check_secret_key(None)) == ["mangasite.E001"]


def test_it_refuses_an_unknown_execution_backend(settings):
    settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "lambda"
    assert ids(checks.check_execution_backend(None)) == ["mangasite.E002"]


def test_it_refuses_cloudrun_without_url_and_token(settings):
    settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "cloudrun"
    settings.MANGA_CLOUDRUN_EXEC_URL = ""
    settings.MANGA_INTERNAL_API_TOKEN = ""
    assert ids(checks.check_execution_backend(None)) == ["mangasite.E003", "mangasite.E004"]


def test_it_accepts_cloudrun_with_url_and_token(settings):
    settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "cloudrun"
    settings.MANGA_CLOUDRUN_EXEC_URL = "https://compute.example.run.app"
    settings.MANGA_INTERNAL_API_TOKEN = "a-token-of-32-characters-or-so.."
    assert checks.check_execution_backend(None) == []


def test_it_refuses_an_unknown_translator(settings):
    settings.MANGA_DEFAULT_TRANSLATOR = "deepl"
    assert ids(checks.check_translator(None)) == ["mangasite.E005"]


@pytest.mark.parametrize("translator", ["gemini", "gemini_hq"])
def test_it_refuses_a_gemini_translator_without_a_key(settings, translator):
    settings.MANGA_DEFAULT_TRANSLATOR = translator
    settings.GEMINI_API_KEY = ""
    assert ids(checks.check_translator(None)) == ["mangasite.E006"]


def test_it_accepts_the_cleaning_translator_without_a_key(settings):
    settings.MANGA_DEFAULT_TRANSLATOR = "none"
    settings.GEMINI_API_KEY = ""
    assert checks.check_translator(None) == []


def test_it_refuses_a_task_retry_not_above_the_timeout(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 600, "retry": 600}
    assert ids(checks.check_task_queue(None)) == ["mangasite.E007"]


@pytest.mark.parametrize("attempts", [0, -1, None, True, 1.5])
def test_it_refuses_unbounded_or_junk_task_attempts(settings, attempts):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "max_attempts": attempts}
    assert ids(checks.check_task_queue(None)) == ["mangasite.E009"]


def test_it_accepts_the_default_task_queue_settings():
    assert checks.check_task_queue(None) == []


def test_it_refuses_a_data_dir_it_cannot_create(settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings.MANGA_DATA_DIR = blocker / "data"
    assert ids(checks.check_data_dir(None)) == ["mangasite.E008"]


def test_the_checks_run_with_manage_py_check(settings):
    settings.SECRET_KEY = "a-real-secret"
    settings.MANGA_DEFAULT_TRANSLATOR = "deepl"
    with pytest.raises(SystemCheckError, match=r"mangasite\.E005"):
        call_command("check")


def test_it_refuses_a_token_the_compute_service_would_refuse(settings):
    settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "cloudrun"
    settings.MANGA_CLOUDRUN_EXEC_URL = "https://compute.example.run.app"
    settings.MANGA_INTERNAL_API_TOKEN = "short"
    assert ids(checks.check_execution_backend(None)) == ["mangasite.E004"]
