from __future__ import annotations

from scraper.checks import check_allowed_networks


def test_a_network_that_is_not_a_cidr_is_refused_at_start(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = ["192.168.1.0/24", "localhost", "10.0.0.0/33"]
    errors = check_allowed_networks(None)
    assert [error.id for error in errors] == ["scraper.E001", "scraper.E001"]
    assert "'localhost'" in errors[0].msg and "'10.0.0.0/33'" in errors[1].msg


def test_cidrs_and_single_addresses_pass(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = ["127.0.0.1/32", "fd00::/8", "192.168.1.5"]
    assert check_allowed_networks(None) == []
