"""Media answers: private caching with ETag and Last-Modified, 304s, the X-Accel-Redirect switch, WebP covers."""

from __future__ import annotations

import pytest
from django.urls import reverse
from PIL import Image

from translations import storage
from translations.services.chapters import chapter_delete
from translations.tests.site_helpers import make_reader, translated_chapter

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader_client(client):
    client.force_login(make_reader())
    return client


@pytest.fixture
def chapter():
    return translated_chapter(2)[0]


def page_url(chapter) -> str:
    return reverse("page-image", args=[chapter.pages.get(index=1).pk])


def test_a_page_image_is_private_and_carries_etag_and_last_modified(reader_client, chapter):
    response = reader_client.get(page_url(chapter))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")
    assert response["Content-Type"] == "image/png"
    stored = storage.resolve_path(chapter.pages.get(index=1).image).read_bytes()
    assert b"".join(response.streaming_content) == stored


def test_a_matching_etag_or_date_gets_304_without_a_body(reader_client, chapter):
    first = reader_client.get(page_url(chapter))

    by_tag = reader_client.get(page_url(chapter), HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = reader_client.get(page_url(chapter), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    stale = reader_client.get(
        page_url(chapter), HTTP_IF_NONE_MATCH='"other"', HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )

    assert (by_tag.status_code, by_tag.content, by_tag["ETag"]) == (304, b"", first["ETag"])
    assert by_date.status_code == 304
    assert stale.status_code == 200  # If-None-Match wins over If-Modified-Since


def test_with_accel_redirect_django_checks_access_and_nginx_sends_the_file(reader_client, chapter, settings):
    settings.MANGA_MEDIA_ACCEL_REDIRECT = True
    page = chapter.pages.get(index=1)

    response = reader_client.get(page_url(chapter))

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_protected/{page.image}"
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response.content == b""
    storage.resolve_path(page.image).unlink()
    assert reader_client.get(page_url(chapter)).status_code == 404


def test_the_translated_page_is_served_and_a_missing_one_is_404(reader_client, chapter):
    result = chapter.jobs.get().page_results.get(page__index=1)
    url = reverse("result-image", args=[result.pk])

    response = reader_client.get(url)
    assert b"".join(response.streaming_content) == storage.resolve_path(result.output_path).read_bytes()
    storage.resolve_path(result.output_path).unlink()
    assert reader_client.get(url).status_code == 404


def test_the_cover_is_a_small_webp_made_once(reader_client, chapter, data_dir, django_capture_on_commit_callbacks):
    url = reverse("manga-cover", args=[chapter.manga.pk])

    response = reader_client.get(url)

    assert response["Content-Type"] == "image/webp"
    thumbnail = data_dir / "thumbs/blue-sky/1/001.webp"
    with Image.open(thumbnail) as image:
        assert image.format == "WEBP"
    made = thumbnail.stat().st_mtime_ns
    reader_client.get(url)
    assert thumbnail.stat().st_mtime_ns == made
    with django_capture_on_commit_callbacks(execute=True):
        chapter_delete(chapter=chapter)
    assert not thumbnail.exists()  # files follow rows
