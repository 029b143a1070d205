"""Manga, chapters and pages over the API: filters, cursor pages, ETags, image URLs, private manga, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from translations import storage
from translations.models import AuditEntry, Chapter, Manga, Page, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db


def test_manga_list_filters_by_title_and_language(reader_client):
    make_chapter(1, slug="blue-sky")
    make_chapter(1, slug="red-moon", language="ko")

    everything = reader_client.get("/api/v1/manga/").json()
    korean = reader_client.get("/api/v1/manga/?source_language=ko").json()["results"]
    moon = reader_client.get("/api/v1/manga/?q=MOON").json()["results"]

    assert [m["slug"] for m in everything["results"]] == ["blue-sky", "red-moon"]
    assert everything["results"][0]["chapter_count"] == 1
    first_page = Page.objects.get(chapter__manga__slug="blue-sky", index=1)
    assert everything["results"][0]["cover_url"] == f"/api/v1/pages/{first_page.pk}/image/"
    assert [m["slug"] for m in korean] == ["red-moon"]
    assert [m["slug"] for m in moon] == ["red-moon"]
    bad = reader_client.get("/api/v1/manga/?source_language=xx")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_filter"


def test_lists_come_in_cursor_pages(reader_client):
    for n in range(5):
        Manga.objects.create(slug=f"m{n}", title=f"M{n}")

    first = reader_client.get("/api/v1/manga/?limit=2").json()
    second = reader_client.get(first["next"]).json()
    third = reader_client.get(second["next"]).json()

    slugs = [m["slug"] for page in (first, second, third) for m in page["results"]]
    assert slugs == ["m0", "m1", "m2", "m3", "m4"]
    assert third["next"] is None
    assert "cursor=" in first["next"]


def test_chapters_filter_by_manga(reader_client):
    one = make_chapter(2, slug="one")
    make_chapter(1, slug="two")

    by_id = reader_client.get(f"/api/v1/chapters/?manga={one.manga_id}").json()["results"]
    by_slug = reader_client.get("/api/v1/chapters/?manga_slug=two").json()["results"]

    assert [(c["id"], c["page_count"], c["slug"], c["number"]) for c in by_id] == [(one.pk, 2, "1", "1.00")]
    assert [c["manga_slug"] for c in by_slug] == ["two"]
    assert reader_client.get("/api/v1/chapters/?manga=abc").json()["error"]["code"] == "invalid_filter"


def test_detail_has_an_etag_and_answers_304_while_it_holds(reader_client):
    chapter = make_chapter(1)

    first = reader_client.get(f"/api/v1/chapters/{chapter.pk}/")
    etag = first.headers["ETag"]
    same = reader_client.get(f"/api/v1/chapters/{chapter.pk}/", HTTP_IF_NONE_MATCH=etag)
    Chapter.objects.filter(pk=chapter.pk).update(title="A new title")
    changed = reader_client.get(f"/api/v1/chapters/{chapter.pk}/", HTTP_IF_NONE_MATCH=etag)

    assert same.status_code == 304
    assert same.content == b""
    assert changed.status_code == 200
    assert changed.json()["title"] == "A new title"
    assert changed.headers["ETag"] != etag


def test_pages_have_raw_and_translated_image_urls(reader_client):
    chapter = make_chapter(2)
    job = chapter_request_translation(chapter=chapter, translator="test", target_language="de", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))
    first, second = chapter.pages.order_by("index")

    pages = reader_client.get(f"/api/v1/pages/?chapter={chapter.pk}").json()["results"]

    assert pages[0]["image_url"] == f"/api/v1/pages/{first.pk}/image/"
    assert pages[0]["translations"] == [
        {
            "job": job.pk,
            "target_language": "de",
            "translator": "test",
            "image_url": f"/api/v1/jobs/{job.pk}/pages/1/image/",
        }
    ]
    assert pages[1]["translations"] == []
    raw = reader_client.get(pages[1]["image_url"])
    assert raw.status_code == 200
    assert raw.headers["Content-Type"] == "image/png"
    assert b"".join(raw.streaming_content) == storage.resolve_path(second.image).read_bytes()


def test_a_missing_image_file_is_a_404_in_the_api_shape(reader_client):
    page = make_chapter(1).pages.get()
    storage.resolve_path(page.image).unlink()

    response = reader_client.get(f"/api/v1/pages/{page.pk}/image/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "file_missing"


def test_private_manga_do_not_exist_for_readers(reader_client, staff_client):
    chapter = make_chapter(1, slug="secret")
    Manga.objects.filter(slug="secret").update(private=True)
    page = chapter.pages.get()
    paths = [
        f"/api/v1/manga/{chapter.manga_id}/",
        f"/api/v1/chapters/{chapter.pk}/",
        f"/api/v1/pages/{page.pk}/",
        f"/api/v1/pages/{page.pk}/image/",
    ]

    for path in paths:
        hidden = reader_client.get(path)
        assert hidden.status_code == 404, path
        assert hidden.json()["error"]["code"] == "not_found"
        assert staff_client.get(path).status_code == 200, path
    assert reader_client.get("/api/v1/manga/").json()["results"] == []
    assert reader_client.get("/api/v1/pages/").json()["results"] == []
    job = reader_client.post("/api/v1/jobs/", {"chapter": chapter.pk}, format="json")
    assert job.status_code == 403


def test_staff_add_a_manga(staff_client, staff):
    response = staff_client.post(
        "/api/v1/manga/", {"slug": "new-one", "title": "New One", "source_language": "ko"}, format="json"
    )

    assert response.status_code == 201
    manga = Manga.objects.get(slug="new-one")
    assert response.json()["id"] == manga.pk
    assert (manga.title, manga.source_language, manga.private) == ("New One", "ko", False)
    assert AuditEntry.objects.filter(action="manga.create", actor=staff).exists()
    duplicate = staff_client.post("/api/v1/manga/", {"slug": "new-one", "title": "Again"}, format="json")
    assert duplicate.status_code == 400
    assert list(duplicate.json()["error"]["details"]["fields"]) == ["slug"]


def test_staff_delete_a_chapter_with_its_finished_jobs_and_files(staff_client, staff):
    chapter = make_chapter(2)
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    files = [storage.resolve_path(p.image) for p in chapter.pages.all()]
    files += [storage.resolve_path(r.output_path) for r in job.page_results.all()]

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.delete(f"/api/v1/chapters/{chapter.pk}/")

    assert response.status_code == 204
    assert not Chapter.objects.filter(pk=chapter.pk).exists()
    assert not TranslationJob.objects.filter(pk=job.pk).exists()
    assert not any(path.exists() for path in files)
    assert AuditEntry.objects.filter(action="chapter.delete", actor=staff, object_id=str(chapter.pk)).exists()


def test_a_chapter_with_a_running_job_is_not_deleted(staff_client):
    chapter = make_chapter(1)
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)

    response = staff_client.delete(f"/api/v1/chapters/{chapter.pk}/")

    assert response.status_code == 409
    assert response.json()["error"] | {"message": ""} == {
        "code": "chapter_busy",
        "message": "",
        "details": {"active_job": job.pk},
    }
    assert chapter.pages.count() == 1


def test_readers_may_not_delete_chapters(reader_client):
    chapter = make_chapter(1)

    response = reader_client.delete(f"/api/v1/chapters/{chapter.pk}/")

    assert response.status_code == 403
    assert Chapter.objects.filter(pk=chapter.pk).exists()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/manga/", "/api/v1/chapters/", "/api/v1/pages/", "/api/v1/jobs/", "/api/v1/jobs/{job}/"],
)
def test_query_counts_do_not_grow_with_rows(reader_client, path):
    def seed(n: int, tag: str) -> int:
        last = 0
        for i in range(n):
            chapter = make_chapter(3, slug=f"{tag}-{i}")
            job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
            job_run(job_id=job.pk, executor=ScriptedExecutor())
            last = job.pk
        return last

    def count(job: int) -> int:
        reader_client.get(path.format(job=job))  # the token's last-use write happens once a minute, not here
        with CaptureQueriesContext(connection) as context:
            assert reader_client.get(path.format(job=job)).status_code == 200
        return len(context.captured_queries)

    few = count(seed(1, "few"))
    many = count(seed(6, "many"))
    assert few == many, (few, many)
    # Pinned: one query for the token and its user, one for the rows, one for prefetched results.
    assert many == (3 if path in ("/api/v1/pages/", "/api/v1/jobs/{job}/") else 2), many
