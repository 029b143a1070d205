"""`manage.py translate_page` with Gemini: the default translator, and a page lettered via the local server."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from translations.gemini_settings import gemini_config
from translations.pipeline import registry
from translations.pipeline.tests.test_pipeline_engine import CJK_FONT, decode, ink_inside, manga_page, png
from translations.services.jobs import default_translator
from translations.testing.gemini_server import GeminiServer


@pytest.fixture
def models_present():
    missing = [
        spec.name
        for spec in registry.default_manifest().values()
        if not spec.optional
        and registry.state_of(spec, django_settings.MANGA_MODEL_DIR) is not registry.ModelState.PRESENT
    ]
    if missing or not CJK_FONT.is_file():
        pytest.skip("models or the bundled CJK font are absent: run `python manage.py models fetch`")


@pytest.fixture
def server():
    with GeminiServer(table={"こんにちは元気ですか": "Hi, how are you?", "ありがとう": "Thanks!"}) as running:
        yield running


def test_the_default_is_gemini_hq_with_a_key_and_cleaning_without(settings):
    settings.MANGA_DEFAULT_TRANSLATOR = ""
    settings.GEMINI_API_KEY = "k"
    assert default_translator() == "gemini_hq"
    settings.GEMINI_API_KEY = ""
    assert default_translator() == "none"
    settings.MANGA_DEFAULT_TRANSLATOR = "gemini"
    assert default_translator() == "gemini"


def test_the_config_is_built_from_settings_and_passed_explicitly(settings, tmp_path):
    settings.GEMINI_API_KEY = "settings-key"
    settings.GEMINI_MODEL = "gemini-2.0-flash"
    settings.GEMINI_API_BASE = "http://127.0.0.1:9"
    settings.GEMINI_TIMEOUT_SEC = 12

    config = gemini_config(glossary=tmp_path / "glossary.json")

    assert (config.api_key, config.model, config.base_url) == ("settings-key", "gemini-2.5-flash", "http://127.0.0.1:9")
    assert config.timeout_s == 12.0
    assert config.glossary == tmp_path / "glossary.json"
    settings.GEMINI_API_KEY = ""
    assert gemini_config() is None


def test_gemini_hq_letters_the_servers_translations_and_prints_models_and_tokens(
    settings, tmp_path, server, models_present
):
    settings.GEMINI_API_KEY = "settings-key"
    settings.GEMINI_API_BASE = server.url
    page, out, report = tmp_path / "page.png", tmp_path / "out.png", tmp_path / "report.json"
    page.write_bytes(png(manga_page()))
    context = tmp_path / "previous.txt"
    context.write_text("Good morning!", encoding="utf-8")
    stdout = io.StringIO()

    call_command(
        "translate_page", str(page), "-o", str(out), "--translator", "gemini_hq", "--target", "en",
        "--context", str(context), "--report", str(report), stdout=stdout,
    )  # fmt: skip

    [sent] = server.requests
    assert sent.api_key == "settings-key"
    assert len(sent.images) == 1 and "Good morning!" in sent.text
    written = json.loads(report.read_text(encoding="utf-8"))
    assert [region["translation"] for region in written["regions"]] == ["Hi, how are you?", "Thanks!"]
    assert written["models"]["translator"] == "gemini-3-flash-preview"
    assert written["usage"]["prompt_tokens"] > 0
    assert ink_inside(decode(out.read_bytes()), (470, 90, 750, 490)) > 50  # lettered in the first balloon
    printed = stdout.getvalue()
    assert "translate mode" in printed
    assert "translator=gemini-3-flash-preview" in printed and "translator_fallback=gemini-2.5-flash" in printed
    assert f"{written['usage']['prompt_tokens']} prompt" in printed


def test_without_a_key_the_command_cleans_and_says_why(settings, tmp_path, models_present):
    settings.GEMINI_API_KEY = ""
    settings.MANGA_DEFAULT_TRANSLATOR = ""
    page = tmp_path / "page.png"
    page.write_bytes(png(manga_page()))
    stdout = io.StringIO()

    call_command("translate_page", str(page), "-o", str(tmp_path / "out.png"), stdout=stdout)

    assert "cleaning mode (no GEMINI_API_KEY: set it to translate): text erased, nothing lettered" in stdout.getvalue()


def test_asking_for_gemini_without_a_key_is_refused(settings, tmp_path):
    settings.GEMINI_API_KEY = ""
    page = tmp_path / "page.png"
    page.write_bytes(png(manga_page()))

    with pytest.raises(CommandError, match="needs GEMINI_API_KEY"):
        call_command("translate_page", str(page), "-o", str(tmp_path / "out.png"), "--translator", "gemini")
