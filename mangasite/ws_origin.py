"""WebSocket handshakes are accepted only from the site's own origin: scheme, host and port.

Channels' `AllowedHostsOriginValidator` compares the Origin's host name with ALLOWED_HOSTS and
ignores its scheme and port, so a page on `http://site:8080` could open sockets on
`https://site`. Here the Origin must equal the origin the request was made to (as Django's CSRF
check sees it: the Host header, and https when the connection or the TLS proxy says so), or be
listed in CSRF_TRUSTED_ORIGINS; the Host itself must be in ALLOWED_HOSTS. No Origin: refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return scheme, parts.hostname.lower(), port


def _header(scope: dict, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name), "")


def request_origin(scope: dict) -> tuple[str, str, int] | None:
    """The origin the browser connected to, or None when the Host is not one of ALLOWED_HOSTS."""
    host = _header(scope, b"host")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") in ("wss", "https")
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy and _header(scope, proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()) == proxy[1]:
        secure = True
    return _origin("https" if secure else "http", host)


def origin_allowed(scope: dict) -> bool:
    raw = _header(scope, b"origin")
    parts = urlsplit(raw) if raw else None
    if parts is None or parts.scheme not in DEFAULT_PORTS or parts.path not in ("", "/"):
        return False
    presented = _origin(parts.scheme, parts.netloc)
    if presented is None:
        return False
    trusted = {_origin(urlsplit(o).scheme, urlsplit(o).netloc) for o in settings.CSRF_TRUSTED_ORIGINS}
    return presented == request_origin(scope) or presented in trusted


class SameOriginValidator:
    """ASGI middleware: refuses (403) a WebSocket handshake from another origin."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
