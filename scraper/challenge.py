"""Anti-bot challenge pages (Cloudflare's "Just a moment…", DDoS-Guard, Sucuri): recognise them, never retry them.

A challenge is answered only by a real browser; retrying it just burns the site's patience.
The markers are the challenge machinery itself, not the word "cloudflare": sites behind
Cloudflare carry `/cdn-cgi/challenge-platform/scripts/…` in every ordinary page too, so that
alone never counts on a 200.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Strong on their own: only a challenge page has them.
CHALLENGE_MARKERS = (
    "window._cf_chl_opt",
    "cf-browser-verification",
    "cf_chl_prog",
    "/cdn-cgi/challenge-platform/h/",
    "challenges.cloudflare.com/turnstile",
    "checking your browser before accessing",
    "ddos-guard.net/check",
    "sucuri website firewall - access denied",
    "/.well-known/sgcaptcha/",
)
# Weak: count only on a refusal status (403, 429, 503).
REFUSAL_MARKERS = ("/cdn-cgi/challenge-platform/", "__cf_chl_", "ddos-guard", "attention required!")
REFUSAL_STATUSES = (403, 429, 503)
_TITLE = re.compile(r"<title[^>]*>\s*(just a moment|please wait|one moment, please|ddos-guard)", re.IGNORECASE)


def challenge_marker(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The marker that shows this response is a challenge, or None for an ordinary response."""
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "cf-mitigated: challenge header"
    text = body[:200_000].decode("utf-8", "replace").lower()
    for marker in CHALLENGE_MARKERS:
        if marker in text:
            return marker
    if status in REFUSAL_STATUSES:
        title = _TITLE.search(text)
        if title:
            return f"title {title.group(1)!r}"
        for marker in REFUSAL_MARKERS:
            if marker in text:
                return marker
    return None
