"""One page against the real Gemini API; runs only where GEMINI_API_KEY is set (never in CI or on offline machines)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from translations.pipeline.contracts import Box, TextBlock, TextLine, TranslationRequest
from translations.pipeline.tests.test_pipeline_engine import CJK_FONT, manga_page
from translations.pipeline.translators.gemini import GeminiTranslator
from translations.pipeline.translators.gemini_config import GeminiConfig

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("GEMINI_API_KEY"), reason="needs GEMINI_API_KEY (a real API call)"),
]


def block(block_id: int, text: str, box: Box) -> TextBlock:
    polygon = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
    return TextBlock(id=block_id, box=box, lines=(TextLine(box, polygon, True, text),), vertical=True)


def test_a_real_page_comes_back_translated_with_token_counts():
    if not CJK_FONT.is_file():
        pytest.skip("the bundled CJK font is absent")
    # The key is read here, by the test, and handed over explicitly like the settings do.
    config = GeminiConfig.from_values(os.environ.get)
    blocks = (
        block(1, "こんにちは元気ですか", Box(540, 150, 140, 280)),
        block(2, "ありがとう", Box(205, 680, 50, 240)),
    )
    request = TranslationRequest(
        image=np.asarray(manga_page()), blocks=blocks, source_language="ja", target_language="en"
    )

    result = GeminiTranslator(config).translate(request)

    for text in result.texts.values():  # English words, no Japanese left
        assert text and re.search("[A-Za-z]", text) and not re.search("[\u3040-\u30ff\u4e00-\u9fff]", text), text
    assert result.models["translator"] in (config.model, config.fallback_model)
    assert result.usage["prompt_tokens"] > 0 and result.usage["output_tokens"] > 0
