"""Admin: cookie import from a storage state, and the retry / cancel actions on downloads."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from scraper.client import SiteClient
from scraper.models import Download
from scraper.services.downloads import download_request, download_run
from scraper.services.sources import source_cookies
from scraper.tests.helpers import chapter_choice, make_source
from translations import storage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client():
    user = get_user_model().objects.create_superuser("admin", password="a password")
    client = Client()
    client.force_login(user)
    return client


def storage_state(*cookies) -> bytes:
    return json.dumps({"cookies": list(cookies), "origins": []}).encode()


def test_imported_cookies_are_kept_for_the_source_host_only_and_sent(admin_client, site):
    source = make_source(site)
    state = storage_state(
        {"name": "cf_clearance", "value": "abc", "domain": "127.0.0.1", "path": "/", "expires": -1, "httpOnly": True},
        {"name": "other", "value": "x", "domain": ".example.org", "path": "/", "expires": -1},
    )
    response = admin_client.post(
        f"/admin/scraper/source/{source.pk}/cookies/",
        {"storage_state": SimpleUploadedFile("state.json", state, content_type="application/json")},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.cookies_file == f"scraper/cookies/{source.pk}.json"
    assert storage.resolve_path(source.cookies_file).is_file()
    cookies = source_cookies(source)
    assert [c["name"] for c in cookies] == ["cf_clearance"]
    SiteClient(cookies=cookies).get(f"{site.url}manga/")
    assert site.seen("/manga/")[0].headers["Cookie"] == "cf_clearance=abc"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (storage_state({"name": "a", "value": "b", "domain": "example.org"}), "no cookie for 127.0.0.1"),
        (b'{"cookies": 3}', "Expected a storage state"),
        (b"[" + b" " * 300_000 + b"]", "more than the limit"),
    ],
)
def test_a_bad_storage_state_is_refused_and_nothing_is_stored(admin_client, site, data, message):
    source = make_source(site)
    response = admin_client.post(
        f"/admin/scraper/source/{source.pk}/cookies/", {"storage_state": SimpleUploadedFile("s.json", data)}
    )
    assert response.status_code == 200 and message in response.content.decode()
    source.refresh_from_db()
    assert source.cookies_file == ""
    assert not (storage.data_root() / "scraper" / "cookies").exists()


def test_the_download_actions_retry_and_cancel(admin_client, site, broker):
    source = make_source(site)
    broken, _ = download_request(
        source=source,
        manga_url=f"{site.url}manga/blue-sky/",
        manga_title="Blue Sky",
        chapter=chapter_choice(site, "blue-sky", "chapter-3", "3"),
    )
    download_run(download_id=broken.pk)
    queued, _ = download_request(
        source=source,
        manga_url=f"{site.url}manga/blue-sky/",
        manga_title="Blue Sky",
        chapter=chapter_choice(site, "blue-sky", "chapter-1", "1"),
    )
    listing = admin_client.get("/admin/scraper/download/").content.decode()
    assert "pages_failed" in listing
    admin_client.post("/admin/scraper/download/", {"action": "retry", "_selected_action": [broken.pk]})
    admin_client.post("/admin/scraper/download/", {"action": "cancel", "_selected_action": [queued.pk]})
    assert Download.objects.get(pk=broken.pk).status == Download.Status.QUEUED
    assert Download.objects.get(pk=queued.pk).status == Download.Status.CANCELLED
    assert admin_client.get(f"/admin/scraper/download/{broken.pk}/change/").status_code == 200
