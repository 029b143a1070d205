"""Who is calling: `Authorization: Bearer <token>` (scripts) or the session cookie (the pages' JavaScript)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from translations.models import ApiToken
from translations.services.tokens import TokenRefused, token_authenticate


class TokenFailed(exceptions.AuthenticationFailed):
    """A 401 whose error code says why the token was refused (token_invalid / _revoked / _expired)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.api_code = code


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request) -> tuple[object, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise TokenFailed("token_invalid", "Send the token as 'Authorization: Bearer <token>', one word.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenFailed("token_invalid", "The token holds characters no token has.") from None
        try:
            token = token_authenticate(secret)
        except TokenRefused as exc:
            raise TokenFailed(exc.code, str(exc)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{self.keyword} realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The session of a signed-in browser; writes need the CSRF token, as for any form."""
