"""Translators that need no network: the cleaning mode and a fixed-text translator for lettering tests.

Gemini translators (DESIGN §5) implement the same `Translator` protocol in their own module.
"""

from __future__ import annotations

from translations.pipeline.contracts import TranslationRequest, TranslationResult
from translations.pipeline.translators import NONE, TEST


class CleaningTranslator:
    """`none`: erase the source text and letter nothing; the report carries the extracted script."""

    name = NONE
    letters = False

    def translate(self, request: TranslationRequest) -> TranslationResult:
        return TranslationResult(texts={block.id: None for block in request.blocks}, models={"translator": "none"})


class FixedTextTranslator:
    """`test`: letters one given string into every block, so lettering can be exercised offline.

    `{id}` in the text is replaced by the block's reading-order number.
    """

    name = TEST
    letters = True

    def __init__(self, text: str = "Block {id}: the quick brown fox jumps over the lazy dog.") -> None:
        self.text = text

    def translate(self, request: TranslationRequest) -> TranslationResult:
        return TranslationResult(
            texts={block.id: self.text.replace("{id}", str(block.id)) for block in request.blocks},
            models={"translator": "fixed-text"},
        )
