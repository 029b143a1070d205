"""Gemini configuration: model names normalised in one place, values passed in explicitly, the factory's choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from translations.pipeline.contracts import PipelineError
from translations.pipeline.factory import get_translator
from translations.pipeline.translators.gemini import GeminiTranslator
from translations.pipeline.translators.gemini_config import GeminiConfig, normalise_model


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gemini-3-flash-preview", "gemini-3-flash-preview"),
        ("gemini-2.0-flash", "gemini-2.5-flash"),
        ("models/Gemini-2.0-Flash ", "gemini-2.5-flash"),
        ("", "gemini-3-flash-preview"),
        (None, "gemini-3-flash-preview"),
    ],
)
def test_model_names_are_normalised(name, expected):
    assert normalise_model(name) == expected


def test_the_defaults_are_the_documented_models():
    config = GeminiConfig(api_key="k")

    assert (config.model, config.fallback_model) == ("gemini-3-flash-preview", "gemini-2.5-flash")


def test_a_fallback_that_normalises_to_the_primary_is_no_fallback():
    config = GeminiConfig(api_key="k", model="gemini-2.5-flash", fallback_model="gemini-2.0-flash")

    assert config.fallback_model is None


def test_it_is_built_from_named_values_as_settings_or_the_environment_give_them():
    values = {
        "GEMINI_API_KEY": "secret",
        "GEMINI_MODEL": "models/gemini-2.0-flash",
        "GEMINI_FALLBACK_MODEL": "",
        "GEMINI_API_BASE": "http://127.0.0.1:9",
        "GEMINI_TIMEOUT_SEC": "30",
        "GEMINI_MAX_ATTEMPTS": "2",
        "MANGA_DICT_DIR": "/srv/dict",
    }

    config = GeminiConfig.from_values(values.get, glossary=Path("/srv/dict/glossaries/x.json"))

    assert config.api_key == "secret"
    assert config.model == "gemini-2.5-flash"
    assert config.fallback_model is None  # the default fallback is the primary here
    assert config.base_url == "http://127.0.0.1:9"
    assert (config.timeout_s, config.max_attempts) == (30.0, 2)
    assert config.dict_dir == Path("/srv/dict")
    assert config.glossary == Path("/srv/dict/glossaries/x.json")


def test_the_key_stays_out_of_the_repr():
    assert "secret" not in repr(GeminiConfig(api_key="secret"))


def test_the_factory_builds_gemini_hq_with_the_image_and_gemini_without():
    config = GeminiConfig(api_key="k")

    hq, text_only = get_translator("gemini_hq", gemini=config), get_translator("gemini", gemini=config)

    assert isinstance(hq, GeminiTranslator) and hq.with_image and hq.name == "gemini_hq" and hq.letters
    assert isinstance(text_only, GeminiTranslator) and not text_only.with_image and text_only.name == "gemini"


@pytest.mark.parametrize("config", [None, GeminiConfig(api_key="")])
def test_the_factory_refuses_a_gemini_translator_without_a_key(config):
    with pytest.raises(PipelineError, match="needs GEMINI_API_KEY"):
        get_translator("gemini_hq", gemini=config)


def test_the_factory_keeps_the_offline_translators():
    assert get_translator("none").letters is False
    assert get_translator("test", text="x").translate.__self__.text == "x"
