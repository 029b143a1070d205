"""Page images and thumbnails: only for signed-in users, only from inside the data directory."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from PIL import Image

from translations import storage
from translations.models import Chapter, Manga, Page
from translations.tests.library import store_page


def jpeg_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def page(db) -> Page:
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    chapter = Chapter.objects.create(manga=manga, number=Decimal("1.5"))
    return store_page(chapter, 1, jpeg_bytes(800, 1200))


@pytest.fixture
def signed_in(client, django_user_model):
    user = django_user_model.objects.create_user(username="reader", password="a-long-password")
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("name", ["page-image", "page-thumbnail"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, page, name):
    url = reverse(name, args=[page.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert b"JFIF" not in response.content


@pytest.mark.parametrize("name", ["page-image", "page-thumbnail"])
def test_it_makes_no_thumbnail_for_anonymous_visitors(client, page, data_dir, name):
    client.get(reverse(name, args=[page.pk]))

    assert not (data_dir / storage.THUMB_DIR).exists()


def test_it_serves_the_exact_bytes_of_the_raw_page(signed_in, page):
    response = signed_in.get(reverse("page-image", args=[page.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert body(response) == storage.resolve_path(page.image).read_bytes()


def test_it_serves_a_jpeg_thumbnail_at_most_240_pixels_wide(signed_in, page, data_dir):
    response = signed_in.get(reverse("page-thumbnail", args=[page.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(body(response))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.width <= 240
        assert thumbnail.size == (240, 360)
    assert (data_dir / "thumbs" / "blue-sky" / "1.5" / "001.jpg").is_file()


def test_it_makes_the_thumbnail_once_and_reuses_it(signed_in, page, data_dir):
    url = reverse("page-thumbnail", args=[page.pk])
    thumbnail = data_dir / "thumbs" / "blue-sky" / "1.5" / "001.jpg"
    first = body(signed_in.get(url))
    made_at = thumbnail.stat().st_mtime_ns

    second = body(signed_in.get(url))

    assert second == first
    assert thumbnail.stat().st_mtime_ns == made_at


@pytest.mark.parametrize("name", ["page-image", "page-thumbnail"])
def test_it_answers_404_when_the_page_file_is_missing(signed_in, page, name):
    storage.resolve_path(page.image).unlink()

    response = signed_in.get(reverse(name, args=[page.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["page-image", "page-thumbnail"])
def test_it_answers_404_for_an_unknown_page(signed_in, db, name):
    response = signed_in.get(reverse(name, args=[999_999]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["page-image", "page-thumbnail"])
def test_it_never_serves_a_path_outside_the_data_directory(signed_in, page, name):
    Page.objects.filter(pk=page.pk).update(image="../../etc/passwd")

    response = signed_in.get(reverse(name, args=[page.pk]))

    assert response.status_code in (400, 404)
    assert b"root:" not in body(response)


def test_a_stored_image_that_no_longer_decodes_answers_404_not_500(signed_in, page, data_dir):
    (data_dir / page.image).write_bytes(b"\xff\xd8\xff\xe0 damaged on disk")

    response = signed_in.get(reverse("page-thumbnail", args=[page.pk]))

    assert response.status_code == 404
    assert not (data_dir / page.thumbnail).exists()
