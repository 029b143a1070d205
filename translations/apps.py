"""The translations app: library models, storage, import, jobs, pipeline, reader, API."""

from __future__ import annotations

from django.apps import AppConfig


class TranslationsConfig(AppConfig):
    name = "translations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from translations import audit_signals, signals  # noqa: F401  (connects the receivers)
