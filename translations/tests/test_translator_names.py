"""Translator names live in the pipeline (`factory.TRANSLATOR_NAMES`); every other list agrees with it."""

from __future__ import annotations


def test_every_list_of_translator_names_agrees():
    from compute_service.contract import TRANSLATORS
    from translations.models import Translator
    from translations.pipeline.factory import TRANSLATOR_NAMES

    assert set(TRANSLATORS) == set(TRANSLATOR_NAMES) == set(Translator.values)
    assert "openai_compat" in TRANSLATOR_NAMES
