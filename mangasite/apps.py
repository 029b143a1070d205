"""The site's own app: registers the configuration checks and the database pool's fork guard at start-up."""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class MangasiteConfig(AppConfig):
    name = "mangasite"
    verbose_name = "Mangasite"

    def ready(self) -> None:
        from mangasite import checks  # noqa: F401  (registers the checks)

        if settings.DATABASES["default"].get("OPTIONS", {}).get("pool"):
            from mangasite.db_pool import forget_pools_after_fork

            forget_pools_after_fork()
