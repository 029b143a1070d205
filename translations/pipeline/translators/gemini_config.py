"""What the Gemini translators need to know, passed in explicitly (Django settings or the compute service's env)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from translations.pipeline.translators.dictionaries import Glossary

DEFAULT_MODEL = "gemini-3-flash-preview"
DEFAULT_FALLBACK_MODEL = "gemini-2.5-flash"
# Retired or renamed models, mapped to what serves their role today; the one place names are normalised.
MODEL_ALIASES = {"gemini-2.0-flash": "gemini-2.5-flash"}
DEFAULT_DICT_DIR = Path(__file__).resolve().parents[3] / "dict"


def normalise_model(name: str | None, default: str | None = DEFAULT_MODEL) -> str | None:
    """`models/Gemini-2.0-Flash ` → `gemini-2.5-flash`; blank → `default`."""
    name = (name or "").strip().lower().removeprefix("models/")
    if not name:
        return default
    return MODEL_ALIASES.get(name, name)


@dataclass(frozen=True)
class GeminiConfig:
    api_key: str = field(repr=False)  # passed to the client explicitly; never read from the environment by it
    model: str = DEFAULT_MODEL
    fallback_model: str | None = DEFAULT_FALLBACK_MODEL  # None or the primary's name: no fallback
    base_url: str | None = None  # proxies, regional endpoints, the local test server
    api_version: str = "v1beta"  # pinned so GOOGLE_GENAI_API_VERSION in the environment cannot change it
    timeout_s: float = 90.0  # per HTTP request; a page with an image and thinking takes 10-40 s
    max_attempts: int = 4  # per model, for 429 / 5xx / timeouts, before the fallback model is tried
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0  # a longer Retry-After is not waited for: the fallback model is tried
    dict_dir: Path = DEFAULT_DICT_DIR  # prompts, pre_dict.txt, post_dict.txt
    glossary: Path | None = None  # the manga's glossary (JSON, see dict/README.md)
    learned: Glossary = field(default_factory=Glossary)  # terms staff accepted for this manga (in the database)

    def __post_init__(self) -> None:
        model = normalise_model(self.model)
        fallback = normalise_model(self.fallback_model, default=None)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "fallback_model", None if fallback == model else fallback)
        if self.max_attempts < 1 or self.timeout_s <= 0:
            raise ValueError("GeminiConfig needs max_attempts >= 1 and timeout_s > 0")

    @classmethod
    def from_values(cls, get: Callable[[str], object], **overrides: object) -> GeminiConfig:
        """Build from named values: `GEMINI_API_KEY`, `GEMINI_MODEL`, `GEMINI_FALLBACK_MODEL`, `GEMINI_API_BASE`,
        `GEMINI_TIMEOUT_SEC`, `GEMINI_MAX_ATTEMPTS`, `MANGA_DICT_DIR`; `get` returns None (or "") for unset ones.

        `get` is `os.environ.get` in the compute service and a settings lookup at the Django edge.
        """
        values: dict[str, object] = {
            "api_key": str(get("GEMINI_API_KEY") or ""),
            "model": get("GEMINI_MODEL") or DEFAULT_MODEL,
            "fallback_model": get("GEMINI_FALLBACK_MODEL") or DEFAULT_FALLBACK_MODEL,
            "base_url": get("GEMINI_API_BASE") or None,
        }
        if timeout := get("GEMINI_TIMEOUT_SEC"):
            values["timeout_s"] = float(timeout)  # type: ignore[arg-type]
        if attempts := get("GEMINI_MAX_ATTEMPTS"):
            values["max_attempts"] = int(attempts)  # type: ignore[call-overload]
        if dict_dir := get("MANGA_DICT_DIR"):
            values["dict_dir"] = Path(str(dict_dir))
        return cls(**{**values, **overrides})  # type: ignore[arg-type]
