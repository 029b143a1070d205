"""The SSRF guard: a scraper request may reach only public addresses, or networks the operator allows.

Checked twice for every request and every redirect hop: before the request (a clear error for a
URL or a redirect target) and again on the socket itself (`GuardedHTTPAdapter`), on the very
address it connects to, so a name that resolves differently the second time (DNS rebinding)
gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from scraper.errors import BlockedAddress, ScrapeError
from scraper.models import ErrorCode

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks() -> list[IPNetwork]:
    """MANGA_SCRAPER_ALLOWED_NETWORKS parsed (check scraper.E001 refuses junk at start-up)."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.MANGA_SCRAPER_ALLOWED_NETWORKS]


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for network in allowed_networks():
        if address.version == network.version and address in network:
            return None
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if not address.is_global:
        return "not public"  # shared (100.64/10), benchmarking, documentation ranges…
    return None


def check_address(address: str, host: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]))
    if refusal is not None:
        raise BlockedAddress(
            f"{host} resolves to {address}, a {refusal} address; scraper requests may not reach it "
            "(allow its network in MANGA_SCRAPER_ALLOWED_NETWORKS if the site really lives there)."
        )


def resolve_checked(host: str, port: int) -> list[tuple]:
    """getaddrinfo for `host`, refusing if any address it gives is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ScrapeError(ErrorCode.CONNECTION, f"{host} cannot be resolved ({exc}).") from None
    if not infos:
        raise ScrapeError(ErrorCode.CONNECTION, f"{host} resolves to no address.")
    for info in infos:
        check_address(str(info[4][0]), host)
    return infos


def check_url(url: str) -> None:
    """Refuse a URL the scraper must not fetch: not http(s), credentials in it, or a host not allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ScrapeError(ErrorCode.BAD_URL, f"{url!r} is not a usable URL ({exc}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScrapeError(ErrorCode.BAD_URL, f"{url!r} is not an http(s) URL with a host.")
    if parts.username or parts.password:
        raise ScrapeError(ErrorCode.BAD_URL, f"{parts.hostname}: URLs with credentials are refused.")
    resolve_checked(parts.hostname, port)
