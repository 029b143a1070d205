"""The reading policy: staff read all, readers read non-private manga, anonymous only a public library."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from translations import access
from translations.models import Chapter, Manga
from translations.tests.library import store_page
from translations.tests.test_media import jpeg_bytes


@pytest.fixture
def shelf(db):
    open_manga = Manga.objects.create(slug="open", title="Open")
    hidden = Manga.objects.create(slug="hidden", title="Hidden", private=True)
    return open_manga, hidden


@pytest.fixture
def people(django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="x" * 16, is_staff=True)
    reader = django_user_model.objects.create_user(username="reader", password="x" * 16)
    gone = django_user_model.objects.create_user(username="gone", password="x" * 16, is_active=False)
    return staff, reader, gone


def slugs(queryset) -> set[str]:
    return set(queryset.values_list("slug", flat=True))


def test_staff_read_everything_readers_only_what_is_not_private(shelf, people):
    open_manga, hidden = shelf
    staff, reader, gone = people

    assert slugs(access.readable_manga(staff)) == {"open", "hidden"}
    assert slugs(access.readable_manga(reader)) == {"open"}
    assert slugs(access.readable_manga(gone)) == set()
    assert access.can_read(staff, hidden) and not access.can_read(reader, hidden)
    assert access.can_read(reader, open_manga) and not access.can_read(gone, open_manga)
    assert access.is_staff_user(staff) and not access.is_staff_user(reader)


@pytest.mark.parametrize("public", [False, True])
def test_anonymous_visitors_read_only_a_public_library(shelf, settings, public):
    settings.MANGA_PUBLIC_LIBRARY = public
    open_manga, hidden = shelf
    anonymous = AnonymousUser()

    assert slugs(access.readable_manga(anonymous)) == ({"open"} if public else set())
    assert access.can_read(anonymous, open_manga) is public
    assert access.can_read(anonymous, hidden) is False
    assert access.is_staff_user(anonymous) is False


def test_a_private_page_image_is_not_found_for_readers_and_served_to_staff(client, shelf, people):
    _, hidden = shelf
    staff, reader, _ = people
    page = store_page(Chapter.objects.create(manga=hidden, number=Decimal("1")), 1, jpeg_bytes(40, 60))
    url = reverse("page-image", args=[page.pk])

    client.force_login(reader)
    assert client.get(url).status_code == 404
    client.force_login(staff)
    assert client.get(url).status_code == 200


def test_a_public_library_serves_images_to_anonymous_visitors(client, shelf, settings):
    settings.MANGA_PUBLIC_LIBRARY = True
    open_manga, _ = shelf
    page = store_page(Chapter.objects.create(manga=open_manga, number=Decimal("1")), 1, jpeg_bytes(40, 60))

    assert client.get(reverse("page-image", args=[page.pk])).status_code == 200
