"""Challenge pages are told apart from ordinary pages by the challenge machinery, not by the word "cloudflare"."""

from __future__ import annotations

import pytest

from scraper.challenge import challenge_marker

ORDINARY = b"<html><head><title>Blue Sky - Read Manga</title>"
CF_SCRIPT = b"<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>"


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (403, {"cf-mitigated": "challenge"}, b"<html></html>"),
        (503, {}, b"<html><head><title>Just a moment...</title></head><script>window._cf_chl_opt={}</script>"),
        (
            200,
            {},
            b"<div class='cf-turnstile' data-sitekey='x'></div><script src='https://challenges.cloudflare.com/turnstile/v0/api.js'></script>",
        ),
        (403, {}, b"<html><head><title>DDoS-Guard</title></head><body>Checking your browser before accessing</body>"),
        (403, {}, b"<html><head><title>Please Wait...</title></head><body>__cf_chl_tk</body>"),
        (403, {}, b"<title>Sucuri WebSite Firewall - Access Denied</title>"),
        (202, {}, b"<script>window.location='/.well-known/sgcaptcha/?r=%2F'</script>"),
    ],
)
def test_challenge_pages_are_recognised(status, headers, body):
    assert challenge_marker(status, headers, body) is not None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, ORDINARY + CF_SCRIPT + b"Powered by Cloudflare"),
        (404, ORDINARY + CF_SCRIPT + b"<h1>Not found</h1>"),
        (200, b"<title>Just a moment of peace: chapter 3</title>"),  # a title alone counts only on a refusal
        (503, b"<html><body>Service temporarily unavailable (cloudflare)</body></html>"),
    ],
)
def test_ordinary_pages_and_plain_errors_are_not_challenges(status, body):
    assert challenge_marker(status, {}, body) is None
