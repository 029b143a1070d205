"""The site's own app: it exists to register the configuration checks at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class MangasiteConfig(AppConfig):
    name = "mangasite"
    verbose_name = "Mangasite"

    def ready(self) -> None:
        from mangasite import checks  # noqa: F401  (registers the checks)
