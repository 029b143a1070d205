"""Sign-in throttling: after MANGA_LOGIN_MAX_FAILURES wrong passwords an account is locked for MANGA_LOGIN_LOCKOUT_SEC.

Counted per username (case-insensitive) in the Django cache, which every web process shares
(Redis, or files under MANGA_DATA_DIR). Per username rather than per address: behind nginx every
client has the proxy's address. While locked, even the right password is refused, with a message
that says so; a staff member lifts the lock with `manage.py unlock_login USERNAME` (or it expires).

`ThrottledModelBackend` enforces it for every `authenticate()` (admin, the reader's sign-in, the
API's session and basic auth); `ThrottledAuthenticationForm` gives the sign-in pages the message.
"""

from __future__ import annotations

import hashlib
import math
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied


def _key(kind: str, username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"login-{kind}:{digest}"


def login_locked_for(username: str) -> int:
    """Seconds until the account may try again; 0 when it is not locked."""
    until = cache.get(_key("locked", username))
    return max(0, math.ceil(until - time.time())) if until else 0


def login_failed(username: str) -> None:
    window = settings.MANGA_LOGIN_LOCKOUT_SEC
    key = _key("failures", username)
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    cache.touch(key, timeout=window)
    if failures >= settings.MANGA_LOGIN_MAX_FAILURES:
        cache.set(_key("locked", username), time.time() + window, timeout=window)


def login_unlock(username: str) -> bool:
    """Lift a lock and forget the failures; True if the account was locked."""
    was_locked = login_locked_for(username) > 0
    cache.delete_many([_key("failures", username), _key("locked", username)])
    return was_locked


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        f"Too many failed sign-ins for this account: it is locked for {minutes} more minute(s). "
        "Try again later, or ask a staff member to unlock it."
    )


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(self._username_field(), "")
        if name and login_locked_for(name):
            raise PermissionDenied(locked_message(login_locked_for(name)))  # stops the other backends too
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if name:
            if user is None:
                login_failed(name)
            else:
                cache.delete(_key("failures", name))
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form, saying "locked" instead of "wrong password" while the account is locked."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        remaining = login_locked_for(username) if username else 0
        if remaining:
            raise forms.ValidationError(locked_message(remaining), code="locked")
        return super().clean()


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    pass
