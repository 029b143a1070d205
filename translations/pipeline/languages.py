"""Language codes the pipeline knows: which it can read, which it can letter, and the reading direction.

The one list: the models' Language choices label these codes, the contract and the commands take them.
"""

from __future__ import annotations

SOURCE_LANGUAGES = ("ja", "ko", "zh", "en")
TARGET_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "ru", "id", "vi", "th", "ja", "ko", "zh")
# Japanese manga read right to left; manhwa, manhua and Western comics left to right.
RIGHT_TO_LEFT = ("ja",)


def check_languages(source: str, target: str) -> None:
    # Imported here: the wire contract reads the lists above and must not pull in numpy (contracts.py).
    from translations.pipeline.contracts import PipelineError

    if source not in SOURCE_LANGUAGES:
        raise PipelineError("load", f"unknown source language {source!r}; use one of {', '.join(SOURCE_LANGUAGES)}")
    if target not in TARGET_LANGUAGES:
        raise PipelineError("load", f"unknown target language {target!r}; use one of {', '.join(TARGET_LANGUAGES)}")
