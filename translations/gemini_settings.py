"""The translator configurations the Django side hands to the pipeline (Gemini, openai_compat), built from settings."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from translations.pipeline.translators.dictionaries import Glossary
from translations.pipeline.translators.gemini_config import GeminiConfig
from translations.pipeline.translators.openai_config import LLMConfig


def gemini_config(*, glossary: Path | None = None) -> GeminiConfig | None:
    """None without GEMINI_API_KEY: `get_translator` then says what to set."""
    if not settings.GEMINI_API_KEY:
        return None
    return GeminiConfig.from_values(lambda name: getattr(settings, name, None), glossary=glossary)


def llm_config(*, glossary: Path | None = None, learned: Glossary | None = None) -> LLMConfig | None:
    """None without MANGA_LLM_BASE_URL and MANGA_LLM_MODEL: `get_translator` then says what to set."""
    return LLMConfig.from_values(
        lambda name: getattr(settings, name, None), glossary=glossary, learned=learned or Glossary()
    )


def manga_glossary(manga_slug: str) -> Path | None:
    """`dict/glossaries/<manga-slug>.json` when the manga has one (format: dict/README.md)."""
    path = Path(settings.MANGA_DICT_DIR) / "glossaries" / f"{manga_slug}.json"
    return path if manga_slug and path.is_file() else None
