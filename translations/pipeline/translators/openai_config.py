"""What the `openai_compat` translator needs, passed in explicitly (Django settings or the compute service's env)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from translations.pipeline.translators.dictionaries import Glossary
from translations.pipeline.translators.gemini_config import DEFAULT_DICT_DIR

VISION_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class LLMConfig:
    base_url: str  # the server's OpenAI-compatible root, e.g. http://127.0.0.1:11434/v1 (Ollama)
    model: str
    api_key: str = field(default="", repr=False)  # local servers need none; sent as a Bearer token when set
    fallback_model: str | None = None  # None or the primary's name: no fallback
    # auto: send the page image, and drop it for this model when the server says it takes no images.
    vision: str = "auto"
    timeout_s: float = 120.0  # per HTTP request; a local model on a CPU is slow
    max_attempts: int = 4  # per model, for 429 / 5xx / timeouts, before the fallback model is tried
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0  # a longer Retry-After is not waited for: the fallback model is tried
    dict_dir: Path = DEFAULT_DICT_DIR  # prompts, pre_dict.txt, post_dict.txt
    glossary: Path | None = None  # the manga's glossary file (JSON, see dict/README.md)
    learned: Glossary = field(default_factory=Glossary)  # terms staff accepted for this manga (in the database)

    def __post_init__(self) -> None:
        if not self.base_url or not self.model:
            raise ValueError("LLMConfig needs a base_url and a model")
        if self.vision not in VISION_MODES:
            raise ValueError(f"MANGA_LLM_VISION must be one of {', '.join(VISION_MODES)}, not {self.vision!r}")
        if self.max_attempts < 1 or self.timeout_s <= 0:
            raise ValueError("LLMConfig needs max_attempts >= 1 and timeout_s > 0")
        fallback = (self.fallback_model or "").strip() or None
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "fallback_model", None if fallback == self.model else fallback)

    @classmethod
    def from_values(cls, get: Callable[[str], object], **overrides: object) -> LLMConfig | None:
        """Build from `MANGA_LLM_BASE_URL`, `MANGA_LLM_API_KEY`, `MANGA_LLM_MODEL`, `MANGA_LLM_FALLBACK_MODEL`,
        `MANGA_LLM_VISION`, `MANGA_LLM_TIMEOUT_SEC`, `MANGA_LLM_MAX_ATTEMPTS`, `MANGA_DICT_DIR`; None when no base
        URL or model is set. `get` is `os.environ.get` in the compute service and a settings lookup at the Django edge.
        """
        base_url, model = str(get("MANGA_LLM_BASE_URL") or ""), str(get("MANGA_LLM_MODEL") or "")
        if not base_url or not model:
            return None
        values: dict[str, object] = {
            "base_url": base_url,
            "model": model,
            "api_key": str(get("MANGA_LLM_API_KEY") or ""),
            "fallback_model": str(get("MANGA_LLM_FALLBACK_MODEL") or "") or None,
            "vision": str(get("MANGA_LLM_VISION") or "auto"),
        }
        if timeout := get("MANGA_LLM_TIMEOUT_SEC"):
            values["timeout_s"] = float(timeout)  # type: ignore[arg-type]
        if attempts := get("MANGA_LLM_MAX_ATTEMPTS"):
            values["max_attempts"] = int(attempts)  # type: ignore[call-overload]
        if dict_dir := get("MANGA_DICT_DIR"):
            values["dict_dir"] = Path(str(dict_dir))
        return cls(**{**values, **overrides})  # type: ignore[arg-type]
