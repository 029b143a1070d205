"""The staff page /scraper/: refusals first, CSRF, then search → manga → queue → download page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scraper.models import Download, Source
from scraper.tests.helpers import make_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client():
    user = get_user_model().objects.create_user("staff", password="a password", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def source(site):
    return make_source(site)


def test_anonymous_visitors_are_sent_to_sign_in(source, site):
    response = Client().get(f"/scraper/sources/{source.pk}/search?q=blue")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert site.requests == []  # refused before any work


def test_signed_in_readers_who_are_not_staff_get_403(source, site):
    reader = get_user_model().objects.create_user("reader", password="a password")
    client = Client()
    client.force_login(reader)
    for url in ("/scraper/", f"/scraper/sources/{source.pk}/search?q=blue", f"/scraper/sources/{source.pk}/catalog"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/scraper/sources/{source.pk}/check").status_code == 403
    assert site.requests == []


def test_posts_need_the_csrf_token(source, site):
    user = get_user_model().objects.create_user("staff", password="a password", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(f"/scraper/sources/{source.pk}/downloads", {"manga_url": f"{site.url}manga/blue-sky/"})
    assert response.status_code == 403
    assert not Download.objects.exists() and site.requests == []


def test_the_index_lists_sources_and_their_health(staff_client, source):
    page = staff_client.get("/scraper/").content.decode()
    assert "Fixture Manga" in page and "no downloads" in page and "Check access" in page


def test_check_access_records_the_outcome(staff_client, source):
    response = staff_client.post(f"/scraper/sources/{source.pk}/check", follow=True)
    source.refresh_from_db()
    assert source.last_check_ok is True
    assert "catalog page 1 lists 10 manga" in response.content.decode()


def test_a_failed_check_shows_its_code(staff_client, site):
    source = Source.objects.create(name="Walled", base_url=site.url, catalog_path="/challenge/")
    staff_client.post(f"/scraper/sources/{source.pk}/check")
    source.refresh_from_db()
    assert (source.last_check_ok, source.last_check_code) == (False, "challenge")
    assert "challenge" in staff_client.get("/scraper/").content.decode()


def test_search_then_manga_then_queue(staff_client, source, site, broker):
    results = staff_client.get(f"/scraper/sources/{source.pk}/search", {"q": "blue"}).content.decode()
    assert "Blue Sky" in results
    manga_url = f"{site.url}manga/blue-sky/"
    page = staff_client.get(f"/scraper/sources/{source.pk}/manga", {"url": manga_url}).content.decode()
    assert "Blue Sky" in page and "OnGoing" in page and "1 other upload" in page
    response = staff_client.post(
        f"/scraper/sources/{source.pk}/downloads",
        {"manga_url": manga_url, "selection": "1-2", "translate": "1", "translate_to": "en", "translator": "none"},
    )
    downloads = list(Download.objects.order_by("chapter_number"))
    assert [(str(d.chapter_number), d.translate_to, d.translator) for d in downloads] == [
        ("1.00", "en", "none"),
        ("2.00", "en", "none"),
    ]
    assert response.status_code == 302 and response["Location"] == "/scraper/"
    assert downloads[0].requested_by.username == "staff"


def test_ticking_one_chapter_opens_its_download(staff_client, source, site, broker):
    manga_url = f"{site.url}manga/night-sea/"
    response = staff_client.post(
        f"/scraper/sources/{source.pk}/downloads",
        {"manga_url": manga_url, "chapter": [site.chapter_url("night-sea", "chapter-7")]},
    )
    download = Download.objects.get()
    assert response["Location"] == f"/scraper/downloads/{download.pk}/"
    page = staff_client.get(response["Location"]).content.decode()
    assert "Night Sea — chapter 7" in page and "queued" in page


def test_a_manga_url_of_another_host_is_refused(staff_client, source, site):
    response = staff_client.get(f"/scraper/sources/{source.pk}/manga", {"url": "http://169.254.169.254/latest/"})
    assert response.status_code == 403
    assert site.requests == []


def test_provider_errors_are_shown_with_their_code(staff_client, source, site):
    page = staff_client.get(f"/scraper/sources/{source.pk}/manga", {"url": f"{site.url}manga/no-such/"})
    assert page.status_code == 200
    assert "http_status" in page.content.decode()


def test_a_bad_range_is_explained(staff_client, source, site):
    response = staff_client.post(
        f"/scraper/sources/{source.pk}/downloads",
        {"manga_url": f"{site.url}manga/blue-sky/", "selection": "one to three"},
        follow=True,
    )
    assert "write e.g. 1-3,7" in response.content.decode()
    assert not Download.objects.exists()


def test_download_all_new_queues_the_chapters_the_library_lacks(staff_client, source, site, broker):
    manga_url = f"{site.url}manga/night-sea/"
    staff_client.post(
        f"/scraper/sources/{source.pk}/downloads",
        {"manga_url": manga_url, "chapter": [site.chapter_url("night-sea", "chapter-7")]},
    )
    Download.objects.update(status=Download.Status.SUCCESS)  # chapter 7 is in the library now
    staff_client.post(f"/scraper/sources/{source.pk}/downloads", {"manga_url": manga_url, "all_new": "1"})
    assert sorted(str(d.chapter_number) for d in Download.objects.all()) == ["7.00", "8.00"]
