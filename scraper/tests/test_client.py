"""The HTTP chokepoint against the local site: politeness measured by the server, retries, challenges, limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from scraper.client import Politeness, SiteClient
from scraper.errors import ScrapeError
from scraper.models import ErrorCode

pytestmark = pytest.mark.django_db(transaction=True)


def observed_rate(arrivals: list[float]) -> float:
    """Requests per second as the server saw them, from the second arrival on (the first can lag its slot)."""
    return (len(arrivals) - 2) / (arrivals[-1] - arrivals[1])


def busiest_second(arrivals: list[float]) -> int:
    """The most requests the server saw within one second, from the second arrival on."""
    later = arrivals[1:]
    return max(sum(1 for t in later if start <= t < start + 1.0) for start in later)


def test_it_keeps_to_the_default_rate_as_the_server_measures_it(site, settings):
    settings.MANGA_SCRAPER_REQUESTS_PER_SEC = 2
    client = SiteClient()  # the defaults: 2 requests/s, 4 at once
    urls = [f"{site.url}covers/c{n}.png" for n in range(9)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda url: client.get(url, kind="image"), urls))
    arrivals = sorted(seen.at for seen in site.seen("/covers/"))
    assert len(arrivals) == 9
    assert observed_rate(arrivals) <= 2.1, arrivals
    assert busiest_second(arrivals) <= 3, arrivals  # 0.5 s apart: a 1 s window holds 2, or 3 at its edges


def test_two_clients_share_one_host_limit(site, settings):
    """The slot is reserved in the database, so separate clients (and processes) share it."""
    settings.MANGA_SCRAPER_REQUESTS_PER_SEC = 4
    clients = [SiteClient(), SiteClient()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: clients[n % 2].get(f"{site.url}covers/s{n}.png", kind="image"), range(8)))
    arrivals = sorted(seen.at for seen in site.seen("/covers/"))
    assert observed_rate(arrivals) <= 4.2, arrivals
    assert busiest_second(arrivals) <= 5, arrivals


def test_it_caps_requests_at_once_per_host(site):
    site.slow_seconds = 0.6
    site.manga("night-sea")  # chapter-8 page 2 is the slow image
    client = SiteClient(politeness=Politeness(requests_per_second=100, concurrency=2, user_agent="ua"))
    url = site.url.rstrip("/") + site.image_path("night-sea", "chapter-8", 2)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: client.get(url, kind="image"), range(6)))
    arrivals = sorted(seen.at for seen in site.seen(site.image_path("night-sea", "chapter-8", 2)))
    # Two at a time, each ~0.6 s: three waves.
    assert arrivals[2] - arrivals[0] >= 0.5 and arrivals[4] - arrivals[2] >= 0.5


def test_it_waits_as_long_as_retry_after_says_then_succeeds(site):
    site.rate_limit_paths["/manga/"] = 1
    site.retry_after = "1"
    response = SiteClient().get(f"{site.url}manga/")
    assert response.status == 200
    first, second = site.seen("/manga/")
    assert second.at - first.at >= 0.95


def test_a_retry_after_past_the_cap_fails_at_once(site, settings):
    settings.MANGA_SCRAPER_RETRY_AFTER_MAX_SEC = 5
    site.rate_limit_paths["/manga/"] = 5
    site.retry_after = "3600"
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}manga/")
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert "3600" in str(caught.value)
    assert len(site.seen("/manga/")) == 1


def test_it_gives_up_after_the_retry_budget(site, settings):
    settings.MANGA_SCRAPER_RETRIES = 2
    site.rate_limit_paths["/manga/"] = 10
    site.retry_after = "0"
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}manga/")
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert len(site.seen("/manga/")) == 3


def test_a_challenge_page_is_recognised_and_never_retried(site):
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}challenge/")
    assert caught.value.code == ErrorCode.CHALLENGE
    assert "cookies" in str(caught.value)
    assert len(site.seen("/challenge/")) == 1


def test_an_ordinary_page_with_the_challenge_platform_script_is_not_a_challenge(site):
    # Every fixture page carries /cdn-cgi/challenge-platform/scripts/jsd/main.js, as Cloudflare sites do.
    assert b"challenge-platform/scripts" in SiteClient().get(f"{site.url}manga/").body


def test_it_sends_the_user_agent_referer_and_imported_cookies(site):
    cookie = {"name": "cf_clearance", "value": "token-1", "domain": "127.0.0.1", "path": "/"}
    client = SiteClient(
        politeness=Politeness(requests_per_second=100, concurrency=4, user_agent="Browser/1.0"), cookies=[cookie]
    )
    client.get(f"{site.url}covers/x.png", referer=f"{site.url}manga/blue-sky/chapter-1/", kind="image")
    (seen,) = site.seen("/covers/")
    assert seen.headers["User-Agent"] == "Browser/1.0"
    assert seen.headers["Referer"] == f"{site.url}manga/blue-sky/chapter-1/"
    assert seen.headers["Cookie"] == "cf_clearance=token-1"


def test_a_repeat_get_of_a_page_is_conditional(site):
    client = SiteClient()
    first = client.get(f"{site.url}manga/blue-sky/")
    second = client.get(f"{site.url}manga/blue-sky/")
    assert second.body == first.body and second.from_cache
    requests = site.seen("/manga/blue-sky/")
    assert "If-None-Match" not in requests[0].headers
    assert requests[1].headers["If-None-Match"] == '"blue-sky-v1"'


def test_a_body_that_trickles_past_the_deadline_times_out(site, settings):
    settings.MANGA_SCRAPER_REQUEST_DEADLINE_SEC = 1
    settings.MANGA_SCRAPER_RETRIES = 1
    site.slow_seconds = 3
    url = site.url.rstrip("/") + site.image_path("night-sea", "chapter-8", 2)
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(url, kind="image")
    assert caught.value.code == ErrorCode.TIMEOUT
    assert len(site.seen(site.image_path("night-sea", "chapter-8", 2))) == 2


def test_a_response_over_the_limit_is_refused(site, settings):
    settings.MANGA_SCRAPER_MAX_HTML_BYTES = 1024
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}manga/")
    assert caught.value.code == ErrorCode.TOO_LARGE


def test_a_missing_page_is_an_http_error_without_retries(site):
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}manga/no-such-manga/")
    assert caught.value.code == ErrorCode.HTTP_STATUS
    assert "404" in str(caught.value)
    assert len(site.seen("/manga/no-such-manga/")) == 1
