"""Chapter upload over the API (the reader's upload service) and a job's exports (the reader's export service)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from translations import storage
from translations.models import AuditEntry, Chapter, Manga
from translations.services.execution import job_run
from translations.services.exports import chapter_script
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter, page_image

pytestmark = pytest.mark.django_db


def cbz(pages: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in pages.items():
            out.writestr(name, data)
    return SimpleUploadedFile("chapter.cbz", buffer.getvalue(), content_type="application/vnd.comicbook+zip")


@pytest.fixture
def manga():
    return Manga.objects.create(slug="blue-sky", title="Blue Sky", source_language="ja")


def test_staff_upload_a_cbz_as_a_chapter(staff_client, staff, manga, data_dir):
    archive = cbz({"p2.png": page_image(2), "p1.png": page_image(1), "ComicInfo.xml": b"<x/>"})

    response = staff_client.post(
        "/api/v1/chapters/",
        {"manga": manga.pk, "number": "3.5", "title": "Rain", "files": [archive]},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    chapter = Chapter.objects.get(manga=manga)
    assert response.json() | {"created_at": None} == {
        "id": chapter.pk,
        "manga": manga.pk,
        "manga_slug": "blue-sky",
        "number": "3.50",
        "slug": "3.5",
        "title": "Rain",
        "source_url": "",
        "page_count": 2,
        "created_at": None,
    }
    assert (data_dir / "raw/blue-sky/3.5/001.png").read_bytes() == page_image(1)
    assert AuditEntry.objects.filter(action="chapter.upload", actor=staff).exists()

    again = staff_client.post(
        "/api/v1/chapters/",
        {"manga": manga.pk, "number": "3.5", "files": [cbz({"p2.png": page_image(2), "p1.png": page_image(1)})]},
        format="multipart",
    )
    assert again.status_code == 200
    assert again.json()["id"] == chapter.pk


def test_page_images_upload_in_natural_order(staff_client, manga):
    files = [SimpleUploadedFile(n, page_image(i), content_type="image/png") for n, i in (("10.png", 3), ("2.png", 2))]

    response = staff_client.post("/api/v1/chapters/", {"manga": manga.pk, "number": "1", "files": files})

    assert response.status_code == 201
    chapter = Chapter.objects.get(pk=response.json()["id"])
    assert list(chapter.pages.order_by("index").values_list("width", flat=True)) == [60, 60]


def test_a_refused_upload_says_why_and_stores_nothing(staff_client, manga, data_dir):
    bad = SimpleUploadedFile("1.png", b"not an image", content_type="image/png")

    response = staff_client.post("/api/v1/chapters/", {"manga": manga.pk, "number": "1", "files": [bad]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_refused"
    assert "1.png" in error["message"]
    assert not Chapter.objects.exists()
    assert not (data_dir / "raw").exists() or not any((data_dir / "raw").rglob("*.png"))


def test_an_upload_without_files_or_to_a_missing_manga(staff_client, manga):
    empty = staff_client.post("/api/v1/chapters/", {"manga": manga.pk, "number": "1"})
    nowhere = staff_client.post(
        "/api/v1/chapters/", {"manga": 99999, "number": "1", "files": [cbz({"1.png": page_image(1)})]}
    )

    assert empty.status_code == 400
    assert list(empty.json()["error"]["details"]["fields"]) == ["files"]
    assert nowhere.status_code == 404
    assert not Chapter.objects.exists()


def test_readers_may_not_upload(reader_client, manga):
    response = reader_client.post(
        "/api/v1/chapters/", {"manga": manga.pk, "number": "1", "files": [cbz({"1.png": page_image(1)})]}
    )

    assert response.status_code == 403
    assert not Chapter.objects.exists()


def finished_job():
    job = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "untranslated"}))
    job.refresh_from_db()
    return job


def test_the_cbz_export_is_the_services_archive(reader_client):
    job = finished_job()

    response = reader_client.get(f"/api/v1/jobs/{job.pk}/cbz/")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.comicbook+zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="blue-sky-ch1-en.cbz"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["001.png", "002.png", "ComicInfo.xml"]
    result = job.page_results.get(page__index=1)
    assert archive.read("001.png") == storage.resolve_path(result.output_path).read_bytes()


def test_the_script_as_json_and_text(reader_client):
    job = finished_job()

    as_json = reader_client.get(f"/api/v1/jobs/{job.pk}/script/")
    as_text = reader_client.get(f"/api/v1/jobs/{job.pk}/script/text/")

    assert as_json.status_code == 200
    assert as_json.json() == json.loads(json.dumps(chapter_script(job).as_json()))
    assert as_json.json()["pages"][0]["regions"][0]["translation"] == "line of page 1"
    assert as_text.status_code == 200
    assert as_text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert as_text.content.decode() == chapter_script(job).as_text()
    assert "blue-sky-ch1-en.script.txt" in as_text.headers["Content-Disposition"]


def test_exports_of_a_private_manga_do_not_exist_for_readers(reader_client):
    job = finished_job()
    Manga.objects.update(private=True)

    for path in ("cbz/", "script/", "script/text/"):
        response = reader_client.get(f"/api/v1/jobs/{job.pk}/{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
