"""Chapter uploads (services/uploads.py): import_chapter's checks for images, ZIP or CBZ; nothing written on refusal."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from translations.models import AuditEntry, Chapter, Manga, Page
from translations.services.uploads import ImportRefused, import_upload
from translations.tests.job_helpers import make_staff, page_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def manga():
    return Manga.objects.create(slug="blue-sky", title="Blue Sky", source_language="ja")


def image(name: str, seed: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, page_image(seed), content_type="image/png")


def archive(name: str, files: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for entry, data in files.items():
            out.writestr(entry, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def upload(manga, files, number="1"):
    return import_upload(manga=manga, number=Decimal(number), title="First", files=files, requested_by=None)


def files_under(data_dir) -> list[str]:
    return sorted(str(path.relative_to(data_dir)) for path in data_dir.rglob("*") if path.is_file())


def test_page_images_become_a_chapter_in_natural_order(manga, data_dir):
    staff = make_staff()
    chapter = import_upload(
        manga=manga,
        number=Decimal("2.5"),
        title="Rain",
        files=[image("p10.png", 3), image("p2.png", 2), image("p1.png", 1)],
        requested_by=staff,
    )

    assert (chapter.manga, chapter.slug, chapter.title) == (manga, "2.5", "Rain")
    assert list(chapter.pages.values_list("index", "sha256")) == [
        (1, Page.objects.get(chapter=chapter, index=1).sha256),
        (2, Page.objects.get(chapter=chapter, index=2).sha256),
        (3, Page.objects.get(chapter=chapter, index=3).sha256),
    ]
    assert (data_dir / "raw/blue-sky/2.5/001.png").read_bytes() == page_image(1)
    assert (data_dir / "raw/blue-sky/2.5/003.png").read_bytes() == page_image(3)
    entry = AuditEntry.objects.get(action="chapter.upload")
    assert (entry.actor, entry.object_id) == (staff, str(chapter.pk))


@pytest.mark.parametrize("name", ["chapter.cbz", "chapter.ZIP"])
def test_one_archive_becomes_a_chapter(manga, data_dir, name):
    chapter = upload(manga, [archive(name, {"b.png": page_image(2), "a.png": page_image(1), "ComicInfo.xml": b"<x/>"})])

    assert chapter.pages.count() == 2
    assert (data_dir / "raw/blue-sky/1/001.png").read_bytes() == page_image(1)


def test_a_folder_sent_with_the_file_name_is_dropped(manga, data_dir):
    chapter = upload(manga, [image("../../etc/p1.png", 1), image("C:\\x\\p2.png", 2)])

    assert chapter.pages.count() == 2
    assert files_under(data_dir) == ["raw/blue-sky/1/001.png", "raw/blue-sky/1/002.png"]


def test_the_same_pages_uploaded_again_change_nothing(manga):
    first = upload(manga, [image("1.png", 1)])
    again = upload(manga, [image("1.png", 1)])

    assert again == first
    assert AuditEntry.objects.filter(action="chapter.upload").count() == 1


def refused(manga, data_dir, files, message, number="1"):
    with pytest.raises(ImportRefused, match=message):
        upload(manga, files, number=number)
    assert files_under(data_dir) == []
    assert not Chapter.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_file_that_is_not_an_image_naming_it(manga, data_dir):
    notes = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    refused(manga, data_dir, [image("1.png", 1), notes], r"notes\.txt: not an image")


def test_it_refuses_a_traversal_archive_naming_the_archive_and_the_entry(manga, data_dir):
    bad = archive("evil.cbz", {"1.png": page_image(1), "../../escape.png": page_image(2)})
    refused(manga, data_dir, [bad], r"evil\.cbz: The archive entry '\.\./\.\./escape\.png' points outside")


def test_it_refuses_a_zip_bomb(manga, data_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("1.png", page_image(1))
        out.writestr("2.png", b"\0" * 30 * 1024 * 1024)
    bomb = SimpleUploadedFile("bomb.zip", buffer.getvalue())
    refused(manga, data_dir, [bomb], r"bomb\.zip: 2\.png would expand \d+ times.*zip bomb")


def test_it_refuses_a_decompression_bomb_image(manga, data_dir, settings):
    settings.MANGA_MAX_IMAGE_PIXELS = 1000
    refused(manga, data_dir, [image("big.png", 1)], r"big\.png: 60x80 is 4800 pixels, more than the limit")


def test_it_refuses_an_archive_beside_images(manga, data_dir):
    refused(manga, data_dir, [image("1.png", 1), archive("c.cbz", {"2.png": page_image(2)})], r"c\.cbz: upload one")


def test_it_refuses_two_files_with_one_name(manga, data_dir):
    refused(manga, data_dir, [image("a/1.png", 1), image("b/1.PNG", 2)], r"1\.png is in the upload twice")


def test_it_refuses_no_files_and_a_bad_chapter_number(manga, data_dir):
    refused(manga, data_dir, [], "Choose the chapter's page images")
    refused(manga, data_dir, [image("1.png", 1)], "more than 2 decimal places", number="1.005")


def test_it_refuses_different_pages_for_a_chapter_that_has_pages(manga, data_dir):
    upload(manga, [image("1.png", 1)])
    before = files_under(data_dir)

    with pytest.raises(ImportRefused, match="already has 1 pages that differ"):
        upload(manga, [image("1.png", 2)])
    assert files_under(data_dir) == before
