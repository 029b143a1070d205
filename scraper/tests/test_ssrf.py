"""The SSRF guard refuses loopback, private, link-local and reserved addresses, on every hop, unless allowed."""

from __future__ import annotations

import ipaddress

import pytest

from scraper.client import SiteClient
from scraper.errors import ScrapeError
from scraper.models import ErrorCode
from scraper.ssrf import address_refusal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not one bound)
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_it_refuses_addresses_that_are_not_public(address, settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = []
    assert address_refusal(ipaddress.ip_address(address)) is not None


def test_it_admits_public_addresses(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = []
    assert address_refusal(ipaddress.ip_address("93.184.215.14")) is None
    assert address_refusal(ipaddress.ip_address("2606:4700::1111")) is None


def test_the_allow_list_admits_only_its_networks(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert address_refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.2")) == "loopback"


def test_a_name_that_resolves_to_loopback_is_refused_without_the_allow_list(site, settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = []
    port = site.server.server_port
    for url in (f"http://localhost:{port}/manga/", f"http://127.0.0.1:{port}/manga/"):
        with pytest.raises(ScrapeError) as caught:
            SiteClient().get(url)
        assert caught.value.code == ErrorCode.BLOCKED_ADDRESS
        assert "127.0.0.1" in str(caught.value)
    assert site.requests == []  # nothing reached the server


def test_private_and_metadata_addresses_are_refused_before_connecting(settings):
    for url in (
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
    ):
        with pytest.raises(ScrapeError) as caught:
            SiteClient().get(url)
        assert caught.value.code == ErrorCode.BLOCKED_ADDRESS, url


def test_a_redirect_to_a_private_address_is_refused(site):
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}redirect/x?to=http://192.168.0.10/admin")
    assert caught.value.code == ErrorCode.BLOCKED_ADDRESS
    assert len(site.seen("/redirect/")) == 1


def test_a_redirect_to_a_reachable_loopback_address_outside_the_allow_list_is_refused(site):
    # 127.0.0.2 answers on Linux (all of 127/8 is loopback), so only the guard stops this hop.
    target = f"http://127.0.0.2:{site.server.server_port}/manga/"
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(f"{site.url}redirect/x?to={target}")
    assert caught.value.code == ErrorCode.BLOCKED_ADDRESS
    assert [seen.path for seen in site.requests] == [f"/redirect/x?to={target}"]


def test_a_redirect_within_the_allowed_site_is_followed(site):
    response = SiteClient().get(f"{site.url}redirect/x?to={site.url}manga/")
    assert response.url == f"{site.url}manga/"
    assert b"page-item-detail" in response.body


def test_the_socket_itself_is_guarded(site, settings):
    """Even a request that skips the URL check cannot connect: the adapter checks the address it dials."""
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = []
    client = SiteClient()
    with pytest.raises(ScrapeError) as caught:
        client.session.get(f"{site.url}manga/", timeout=5)
    assert caught.value.code == ErrorCode.BLOCKED_ADDRESS
    assert site.requests == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "http://user:pw@example.org/", "http:///x"]
)
def test_urls_that_are_not_plain_http_are_refused(url):
    with pytest.raises(ScrapeError) as caught:
        SiteClient().get(url)
    assert caught.value.code == ErrorCode.BAD_URL
