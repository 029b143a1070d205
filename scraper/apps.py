"""The scraper app: sources (Madara-family sites), polite HTTP and resumable chapter downloads (DESIGN §9)."""

from __future__ import annotations

from django.apps import AppConfig


class ScraperConfig(AppConfig):
    name = "scraper"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from scraper import checks, signals  # noqa: F401  (registers the checks, connects the receivers)
