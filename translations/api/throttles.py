"""Rate limits per user, per token and per anonymous address (MANGA_API_THROTTLE_*), 429 + Retry-After.

A request by token counts against both its token and its user, so many tokens of one user do
not add up to more than the user's rate. Rates are read from the settings on each request.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import throttling

from translations.models import ApiToken


class _SettingsRateThrottle(throttling.SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.MANGA_API_THROTTLE_RATES[self.scope]

    def wait(self) -> float | None:
        # DRF answers None (no Retry-After) when the history holds more requests than the rate, as
        # after an operator lowered it; the oldest request's expiry is still when one is allowed.
        wait = super().wait()
        if wait is None and self.history:
            return max(self.history[-1] + self.duration - self.now, 1.0)
        return wait


class AnonymousThrottle(_SettingsRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserThrottle(_SettingsRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TokenThrottle(_SettingsRateThrottle):
    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
