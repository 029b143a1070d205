from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import transaction
from PIL import Image

from translations import storage
from translations.models import Chapter, Manga, Page
from translations.tests.library import store_page


def make_page(chapter: Chapter, index: int) -> Page:
    buffer = io.BytesIO()
    Image.new("L", (30, 40), index * 40).save(buffer, format="JPEG")
    return store_page(chapter, index, buffer.getvalue())


@pytest.fixture
def chapter() -> Chapter:
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    return Chapter.objects.create(manga=manga, number=Decimal("3"))


@pytest.mark.django_db
def test_deleting_a_chapter_removes_its_page_files(chapter, data_dir, django_capture_on_commit_callbacks):
    pages = [make_page(chapter, index) for index in (1, 2)]
    storage.ensure_thumbnail(pages[0].image, pages[0].thumbnail)
    assert (data_dir / "thumbs/blue-sky/3/001.jpg").exists()

    with django_capture_on_commit_callbacks(execute=True):
        chapter.delete()

    assert not (data_dir / "raw/blue-sky").exists()
    assert not (data_dir / "thumbs/blue-sky").exists()
    assert (data_dir / "raw").is_dir()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_delete_keeps_the_files(chapter, data_dir):
    page = make_page(chapter, 1)
    page_id = page.pk
    with pytest.raises(RuntimeError), transaction.atomic():
        page.delete()
        raise RuntimeError("the delete is abandoned")
    assert Page.objects.filter(pk=page_id).exists()
    assert (data_dir / page.image).is_file()


@pytest.mark.django_db
def test_a_bad_stored_path_is_left_alone(chapter, data_dir, django_capture_on_commit_callbacks):
    outside = data_dir.parent / "outside.jpg"
    outside.write_bytes(b"not ours")
    page = Page.objects.create(
        chapter=chapter, index=1, image="../outside.jpg", width=1, height=1, size_bytes=8, sha256="0" * 64
    )
    with django_capture_on_commit_callbacks(execute=True):
        page.delete()
    assert outside.read_bytes() == b"not ours"
