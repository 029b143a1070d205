"""System checks that refuse bad combinations of settings before the site or a worker starts.

Ids are stable (mangasite.E001…) and listed in docs/configuration.md.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, register

from compute_service.contract import MIN_TOKEN_CHARS
from translations.models import ExecutionBackend
from translations.pipeline.translators import GEMINI_TRANSLATORS, OPENAI_COMPAT, TRANSLATORS

EXECUTION_BACKENDS = ExecutionBackend.values


@register()
def check_secret_key(app_configs, **kwargs) -> list[Error]:
    if not settings.DEBUG and settings.SECRET_KEY == settings.UNSET_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is not set and DEBUG is off.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE) to a long random string.",
                id="mangasite.E001",
            )
        ]
    return []


@register()
def check_execution_backend(app_configs, **kwargs) -> list[Error]:
    backend = settings.MANGA_TRANSLATE_EXECUTION_BACKEND
    if backend not in EXECUTION_BACKENDS:
        return [
            Error(
                f"MANGA_TRANSLATE_EXECUTION_BACKEND={backend!r} is not a known backend.",
                hint=f"Use one of: {', '.join(EXECUTION_BACKENDS)}.",
                id="mangasite.E002",
            )
        ]
    if backend != "cloudrun":
        return []
    errors = []
    url = settings.MANGA_CLOUDRUN_EXEC_URL
    if not url.startswith(("https://", "http://")):
        errors.append(
            Error(
                "The cloudrun backend needs MANGA_CLOUDRUN_EXEC_URL, an http(s) URL of the compute service.",
                hint="Set MANGA_CLOUDRUN_EXEC_URL, or use MANGA_TRANSLATE_EXECUTION_BACKEND=local.",
                id="mangasite.E003",
            )
        )
    # The compute service refuses shorter tokens at start; refuse them here too, not at the first page.
    if len(settings.MANGA_INTERNAL_API_TOKEN) < MIN_TOKEN_CHARS:
        errors.append(
            Error(
                "The cloudrun backend needs MANGA_INTERNAL_API_TOKEN (at least 16 characters, as the compute "
                "service requires) to authenticate to the compute service.",
                hint="Set MANGA_INTERNAL_API_TOKEN (or MANGA_INTERNAL_API_TOKEN_FILE), the same value the service has.",
                id="mangasite.E004",
            )
        )
    return errors


@register()
def check_translator(app_configs, **kwargs) -> list[Error]:
    translator = settings.MANGA_DEFAULT_TRANSLATOR
    if translator and translator not in TRANSLATORS:
        return [
            Error(
                f"MANGA_DEFAULT_TRANSLATOR={translator!r} is not a known translator.",
                hint=f"Use one of: {', '.join(TRANSLATORS)}, or leave it unset.",
                id="mangasite.E005",
            )
        ]
    if translator == OPENAI_COMPAT and not (settings.MANGA_LLM_BASE_URL and settings.MANGA_LLM_MODEL):
        return [
            Error(
                "MANGA_DEFAULT_TRANSLATOR='openai_compat' needs MANGA_LLM_BASE_URL and MANGA_LLM_MODEL.",
                hint="Point MANGA_LLM_BASE_URL at the server's /v1 root and name the model, or choose another one.",
                id="mangasite.E016",
            )
        ]
    if settings.MANGA_LLM_VISION not in ("auto", "on", "off"):
        return [
            Error(
                f"MANGA_LLM_VISION={settings.MANGA_LLM_VISION!r} is not auto, on or off.",
                hint="auto sends the page image and drops it for a model that takes none; off never sends it.",
                id="mangasite.E017",
            )
        ]
    if translator in GEMINI_TRANSLATORS and not settings.GEMINI_API_KEY:
        return [
            Error(
                f"MANGA_DEFAULT_TRANSLATOR={translator!r} needs GEMINI_API_KEY.",
                hint="Set GEMINI_API_KEY (or GEMINI_API_KEY_FILE), or choose the translator 'none'.",
                id="mangasite.E006",
            )
        ]
    return []


@register()
def check_task_queue(app_configs, **kwargs) -> list[Error]:
    timeout, retry = settings.Q_CLUSTER["timeout"], settings.Q_CLUSTER["retry"]
    errors = []
    if retry <= timeout:
        # django-q2 would hand a still-running page to a second worker.
        errors.append(
            Error(
                f"MANGA_Q_RETRY ({retry}s) must be larger than MANGA_Q_TIMEOUT ({timeout}s).",
                hint="Otherwise a long page is started twice. Raise MANGA_Q_RETRY.",
                id="mangasite.E007",
            )
        )
    attempts = settings.Q_CLUSTER.get("max_attempts", 0)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        # django-q2 reads 0 (its default) as "retry for ever": a task that always fails would never leave the queue.
        errors.append(
            Error(
                f"Q_CLUSTER max_attempts is {attempts!r}; it must be a whole number of at least 1.",
                hint="Set a bounded max_attempts in Q_CLUSTER (the sweeper re-queues pages whose worker died).",
                id="mangasite.E009",
            )
        )
    return errors


@register()
def check_data_dir(app_configs, **kwargs) -> list[Error]:
    data_dir = settings.MANGA_DATA_DIR
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = exc.strerror
    else:
        if os.access(data_dir, os.W_OK | os.X_OK):
            return []
        problem = "not writable"
    return [
        Error(
            f"MANGA_DATA_DIR {str(data_dir)!r} cannot be used: {problem}.",
            hint="Point MANGA_DATA_DIR at a directory the web and worker processes can write.",
            id="mangasite.E008",
        )
    ]
