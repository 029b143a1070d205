"""API tokens on the job WebSocket, carried in the `Sec-WebSocket-Protocol` header, never in the URL.

A client offers two subprotocols: `mangasite` and `bearer.<token>`. The server answers with
`mangasite` only, so the token is never echoed, and it is not in the URL that daphne, nginx
or a proxy logs. A valid token sets the connection's user (over any session cookie); an
unknown, revoked or expired one makes the user anonymous, and the consumer refuses the
handshake (403). Browsers keep using the session cookie and need no subprotocol.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from translations.services.tokens import TokenRefused, token_authenticate

PROTOCOL = "mangasite"
BEARER_PREFIX = "bearer."


def accepted_subprotocol(scope: dict) -> str | None:
    """The subprotocol to answer the handshake with: ours when the client offered it."""
    return PROTOCOL if PROTOCOL in scope.get("subprotocols", []) else None


def _token_user(secret: str):
    try:
        return token_authenticate(secret).user
    except TokenRefused:
        return AnonymousUser()


class TokenSubprotocolMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        offered = scope.get("subprotocols") or []
        tokens = [p for p in offered if p.startswith(BEARER_PREFIX)]
        if scope["type"] == "websocket" and tokens:
            # The token leaves the scope, so nothing downstream can log or echo it.
            scope = {**scope, "subprotocols": [p for p in offered if not p.startswith(BEARER_PREFIX)]}
            user = AnonymousUser()
            if len(tokens) == 1:
                user = await database_sync_to_async(_token_user)(tokens[0][len(BEARER_PREFIX) :])
            scope["user"] = user
        return await super().__call__(scope, receive, send)
