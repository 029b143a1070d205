"""The translators (DESIGN §5), and the one list of their names every layer takes.

`gemini.py` (with `gemini_client.py`, `gemini_config.py`, `gemini_prompt.py`, `dictionaries.py`):
the Gemini translators; `openai_compat.py` (with `openai_config.py`): an OpenAI-compatible server;
`offline.py`: the cleaning mode and the fixed-text translator. The model
choices, the compute contract, the commands and the system checks import the names from here;
`factory.get_translator` turns a name into a translator. Light on purpose: importing the names
loads no translator.
"""

from __future__ import annotations

from typing import Final

GEMINI_HQ: Final = "gemini_hq"  # the page image with numbered boxes, and the text (default with a key)
GEMINI: Final = "gemini"  # the text only
OPENAI_COMPAT: Final = "openai_compat"  # an OpenAI-compatible chat server (Ollama, vLLM, OpenRouter…)
NONE: Final = "none"  # cleaning mode: erase the text, letter nothing (default without a key)
TEST: Final = "test"  # one fixed string in every balloon: the whole pipeline offline

TRANSLATORS: Final[tuple[str, ...]] = (GEMINI_HQ, GEMINI, OPENAI_COMPAT, NONE, TEST)
GEMINI_TRANSLATORS: Final[tuple[str, ...]] = (GEMINI_HQ, GEMINI)  # need GEMINI_API_KEY
OFFLINE_TRANSLATORS: Final[tuple[str, ...]] = (NONE, TEST)  # need no network
