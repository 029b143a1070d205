"""System checks of the scraper's settings (ids scraper.E00x, listed in docs/configuration.md)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_allowed_networks(app_configs, **kwargs) -> list[Error]:
    errors = []
    for cidr in settings.MANGA_SCRAPER_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            errors.append(
                Error(
                    f"MANGA_SCRAPER_ALLOWED_NETWORKS holds {cidr!r}, which is not a network ({exc}).",
                    hint="Give comma-separated CIDRs such as 192.168.1.0/24 or 127.0.0.1/32.",
                    id="scraper.E001",
                )
            )
    return errors
