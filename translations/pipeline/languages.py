"""Language codes the pipeline knows: which it can read, which it can letter, and the reading direction."""

from __future__ import annotations

from translations.pipeline.contracts import PipelineError

SOURCE_LANGUAGES = ("ja", "ko", "zh", "en")
TARGET_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "ru", "id", "vi", "th", "ja", "ko", "zh")
# Japanese manga read right to left; manhwa, manhua and Western comics left to right.
RIGHT_TO_LEFT = ("ja",)


def check_languages(source: str, target: str) -> None:
    if source not in SOURCE_LANGUAGES:
        raise PipelineError("load", f"unknown source language {source!r}; use one of {', '.join(SOURCE_LANGUAGES)}")
    if target not in TARGET_LANGUAGES:
        raise PipelineError("load", f"unknown target language {target!r}; use one of {', '.join(TARGET_LANGUAGES)}")
