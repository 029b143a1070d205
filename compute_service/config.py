"""The compute service's settings, read once from the environment (no Django settings here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compute_service.contract import MIN_TOKEN_CHARS
from translations.pipeline.loading import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS

ROOT = Path(__file__).resolve().parent.parent
# Cloud Run refuses HTTP/1 requests over 32 MiB before they arrive; the same cap holds elsewhere.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# A body that has not fully arrived this long after its headers is refused (408): a client that
# declares a body and never sends it must not hold a page slot. 32 MiB at 10 Mbit/s is ~27 s.
DEFAULT_BODY_TIMEOUT_S = 60


class ConfigError(Exception):
    """A setting that stops the service from starting; the message names the variable."""


@dataclass(frozen=True)
class ServiceConfig:
    tokens: tuple[str, ...] = field(repr=False)  # the current token, then the previous one during a rotation
    model_dir: Path = ROOT / "data" / "models"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    max_image_bytes: int = DEFAULT_MAX_BYTES
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    concurrency: int = 1
    # Tests only: hold the warm-up this long, so `warming_up` can be observed.
    test_warmup_delay_s: float = 0.0


def load_config(environ: Mapping[str, str] = os.environ) -> ServiceConfig:
    token = _secret(environ, "MANGA_INTERNAL_API_TOKEN")
    if not token:
        raise ConfigError("MANGA_INTERNAL_API_TOKEN (or MANGA_INTERNAL_API_TOKEN_FILE) is required")
    previous = _secret(environ, "MANGA_INTERNAL_API_TOKEN_PREVIOUS")
    for name, value in (("MANGA_INTERNAL_API_TOKEN", token), ("MANGA_INTERNAL_API_TOKEN_PREVIOUS", previous)):
        if value and len(value) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{name} must be at least {MIN_TOKEN_CHARS} characters")
    return ServiceConfig(
        tokens=(token, previous) if previous else (token,),
        model_dir=Path(environ.get("MANGA_MODEL_DIR", "").strip() or ROOT / "data" / "models").resolve(),
        max_body_bytes=_int(environ, "MANGA_COMPUTE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        body_timeout_s=_int(environ, "MANGA_COMPUTE_BODY_TIMEOUT_SEC", DEFAULT_BODY_TIMEOUT_S),
        max_image_bytes=_int(environ, "MANGA_MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES),
        max_image_pixels=_int(environ, "MANGA_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS),
        concurrency=_int(environ, "MANGA_COMPUTE_CONCURRENCY", 1),
        test_warmup_delay_s=float(_int(environ, "MANGA_COMPUTE_TEST_WARMUP_DELAY_MS", 0, minimum=0)) / 1000,
    )


def _secret(environ: Mapping[str, str], name: str) -> str:
    """NAME, or the contents of the file NAME_FILE names (Secret Manager mounts, Docker secrets)."""
    path = environ.get(f"{name}_FILE", "").strip()
    if path and environ.get(name, "").strip():
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
    return environ.get(name, "").strip()


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    return value


def llm_values(environ: Mapping[str, str]):
    """A getter for LLMConfig.from_values: the environment, with MANGA_LLM_API_KEY also read from its _FILE."""
    key = _secret(environ, "MANGA_LLM_API_KEY")
    return lambda name: key if name == "MANGA_LLM_API_KEY" else environ.get(name)


def gemini_values(environ: Mapping[str, str]):
    """A getter for GeminiConfig.from_values: the environment, with GEMINI_API_KEY also read from its _FILE."""
    key = _secret(environ, "GEMINI_API_KEY")
    return lambda name: key if name == "GEMINI_API_KEY" else environ.get(name)
