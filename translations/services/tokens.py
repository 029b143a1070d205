"""API tokens: made (shown once), checked on every API request, revoked. Stored as SHA-256 only.

A token is 32 random bytes (`msk_` + URL-safe base64), so a fast hash is enough: there is no
password to guess, and the lookup by hash is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from translations.models import ApiToken
from translations.services.audit import audit_record

__all__ = [
    "TOKEN_PREFIX",
    "IssuedToken",
    "TokenRefused",
    "token_authenticate",
    "token_create",
    "token_revoke",
]

TOKEN_PREFIX = "msk_"  # noqa: S105 (a marker that tells our tokens apart, not a secret)
SHOWN_PREFIX_LENGTH = 12  # "msk_" and 8 random characters: enough to tell tokens apart


class TokenRefused(Exception):
    """A bearer token that does not let its holder in; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the plain token exists outside its holder


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_create(*, user, name: str, expires_in: timedelta | None = None, created_by=None) -> IssuedToken:
    """Make a token for `user`; `created_by` is who asked (the user, a staff member, or None: the command line)."""
    name = name.strip()
    if not name:
        raise ValueError("A token needs a name that says what it is for.")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("A token's lifetime must be positive.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[: ApiToken.NAME_LENGTH],
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        key_hash=_digest(secret),
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )
    audit_record(
        actor=created_by,
        action="token.create",
        obj=token,
        message=f"API token {token.prefix}… ({token.name}) made for {user}.",
        details={"user": user.pk, "expires_at": token.expires_at.isoformat() if token.expires_at else None},
    )
    return IssuedToken(token=token, secret=secret)


def token_revoke(*, token: ApiToken, revoked_by=None) -> bool:
    """Revoke a token for good; False if it was revoked already."""
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    token.revoked_at = now
    audit_record(
        actor=revoked_by,
        action="token.revoke",
        obj=token,
        message=f"API token {token.prefix}… ({token.name}) of {token.user} revoked.",
        details={"user": token.user_id},
    )
    return True


def token_authenticate(secret: str, *, now: datetime | None = None) -> ApiToken:
    """The live token for `secret`, its user loaded; raises TokenRefused. Notes the time of use."""
    now = now or timezone.now()
    token = ApiToken.objects.select_related("user").filter(key_hash=_digest(secret)).first()
    if token is None or not token.user.is_active:
        raise TokenRefused("token_invalid", "The token is not known, or its user is disabled.")
    if token.revoked_at is not None:
        raise TokenRefused("token_revoked", "The token was revoked; make a new one under /account/tokens/.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("token_expired", "The token has expired; make a new one under /account/tokens/.")
    _touch(token, now)
    return token


def _touch(token: ApiToken, now: datetime) -> None:
    # At most one write per token per interval: a busy script must not turn every read into a write.
    interval = timedelta(seconds=settings.MANGA_API_TOKEN_TOUCH_SEC)
    if token.last_used_at is not None and now - token.last_used_at < interval:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - interval)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
