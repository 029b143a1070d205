"""Every reader-site URL asked anonymously, by a reader and by staff, with the answer each gets."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from translations.models import Manga
from translations.tests.job_helpers import make_staff
from translations.tests.site_helpers import make_reader, translated_chapter

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture
def site():
    chapter, job = translated_chapter(2)
    result = job.page_results.order_by("page__index").first()
    page = chapter.pages.order_by("index").first()
    slug, number = chapter.manga.slug, chapter.slug
    return {
        "library": reverse("library"),
        "manga": reverse("manga-detail", args=[slug]),
        "reader": reverse("reader", args=[slug, number]),
        "cbz": reverse("job-cbz", args=[job.pk]),
        "script": reverse("job-script-text", args=[job.pk]),
        "script_json": reverse("job-script-json", args=[job.pk]),
        "cover": reverse("manga-cover", args=[chapter.manga.pk]),
        "result_image": reverse("result-image", args=[result.pk]),
        "page_image": reverse("page-image", args=[page.pk]),
        "page_result": reverse("page-result", args=[result.pk]),
        "delete": reverse("chapter-delete", args=[slug, number]),
        # POST only
        "translate": reverse("chapter-translate", args=[slug, number]),
        "retry_failed": reverse("job-retry-failed", args=[job.pk]),
        "cancel": reverse("job-cancel", args=[job.pk]),
        "retry_page": reverse("result-retry", args=[result.pk]),
        "upload": reverse("chapter-upload", args=[slug]),
        "new_upload": reverse("manga-upload"),
        "position": reverse("reader-position", args=[slug, number]),
    }


def client_for(who: str) -> Client:
    client = Client()
    if who == "reader":
        client.force_login(make_reader())
    elif who == "staff":
        client.force_login(make_staff())
    return client


READ_PAGES = ["library", "manga", "reader", "cbz", "script", "script_json", "cover", "result_image", "page_image"]
STAFF_PAGES = ["page_result", "delete"]
STAFF_ACTIONS = ["translate", "retry_failed", "cancel", "retry_page", "upload", "new_upload", "delete"]


@pytest.mark.parametrize("name", READ_PAGES + STAFF_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(site, name):
    response = Client().get(site[name])
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("name", READ_PAGES)
def test_with_the_public_library_an_anonymous_visitor_reads(site, name, settings):
    settings.MANGA_PUBLIC_LIBRARY = True
    assert Client().get(site[name]).status_code == 200


@pytest.mark.parametrize("name", READ_PAGES)
def test_a_reader_and_staff_read(site, name):
    assert client_for("reader").get(site[name]).status_code == 200
    assert client_for("staff").get(site[name]).status_code == 200


@pytest.mark.parametrize("name", [n for n in READ_PAGES if n != "library"])
def test_a_private_manga_answers_404_to_a_reader_and_200_to_staff(site, name):
    Manga.objects.update(private=True)
    assert client_for("reader").get(site[name]).status_code == 404
    assert client_for("staff").get(site[name]).status_code == 200


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_staff_pages_are_403_for_a_reader_and_200_for_staff(site, name):
    assert client_for("reader").get(site[name]).status_code == 403
    assert client_for("staff").get(site[name]).status_code == 200


@pytest.mark.parametrize("name", STAFF_ACTIONS)
@pytest.mark.parametrize("who", ["anonymous", "reader"])
def test_staff_actions_are_403_for_anyone_else(site, name, who):
    response = client_for(who).post(site[name])
    assert response.status_code == 403
    assert b"Only staff can do this." in response.content or response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("name", ["translate", "retry_failed", "cancel", "retry_page", "upload", "new_upload"])
def test_staff_actions_refuse_a_get(site, name):
    assert client_for("staff").get(site[name]).status_code == 405


@pytest.mark.parametrize("name", [*STAFF_ACTIONS, "position"])
def test_every_form_needs_its_csrf_token(site, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff())
    assert client.post(site[name]).status_code == 403


def test_the_position_is_for_signed_in_readers_only(site, settings):
    settings.MANGA_PUBLIC_LIBRARY = True
    body = '{"page": 1, "mode": "paged", "direction": "rtl"}'
    assert Client().post(site["position"], body, content_type="application/json").status_code == 403
    reader = client_for("reader")
    assert reader.post(site["position"], body, content_type="application/json").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/manga/no-such-manga/",
        "/read/no-such-manga/1/",
        "/read/blue-sky/99/",
        "/read/blue-sky/1.5/",
        "/read/blue-sky/abc/",
        "/jobs/999999/chapter.cbz",
        "/results/999999/",
        "/media/results/999999/image",
        "/media/manga/999999/cover",
    ],
)
def test_unknown_slugs_chapters_and_ids_get_the_real_404_page(site, url):
    response = client_for("staff").get(url)
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"<html" in response.content
