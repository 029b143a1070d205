"""The admin: every library model is listed, searched and filtered; the history is read-only."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.text import slugify
from PIL import Image

from translations import storage
from translations.models import Chapter, Manga, Page, PageResult, TranslationJob
from translations.tests.library import store_page

pytestmark = pytest.mark.django_db

JobStatus = TranslationJob.Status
ResultStatus = PageResult.Status


def jpeg_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def build_library(title: str, *, pages: int = 2, source_language: str = "ja", job_status: str = JobStatus.SUCCESS):
    """A manga with one chapter of real page images, one job over it and a result per page."""
    manga = Manga.objects.create(slug=slugify(title), title=title, source_language=source_language)
    chapter = Chapter.objects.create(manga=manga, number=Decimal("1"), title=f"{title} begins")
    failed = job_status == JobStatus.ERROR
    job = TranslationJob.objects.create(
        chapter=chapter,
        target_language="en",
        translator="gemini",
        backend="local",
        status=job_status,
        pages_total=pages,
        pages_succeeded=0 if failed else pages,
        pages_failed=pages if failed else 0,
        remote_elapsed_ms_total=300,
        translate_elapsed_ms_total=1200,
    )
    for index in range(1, pages + 1):
        page = store_page(chapter, index, jpeg_bytes(60, 90))
        PageResult.objects.create(
            job=job,
            page=page,
            status=ResultStatus.FAILED if failed else ResultStatus.SUCCEEDED,
            attempts=1,
            failure_stage="translate" if failed else "",
            fallback_used=failed,
            output_path="" if failed else storage.page_path(storage.OUTPUT_DIR, manga.slug, chapter.slug, index, "jpg"),
            regions=[{"box": [1, 2, 30, 40], "text": "<b>こんにちは</b>"}],
            timings={"detect": 12, "ocr": 40},
            models_used={"translate": "gemini-3-flash-preview"},
        )
    return chapter


@pytest.fixture
def blue_sky() -> Chapter:
    return build_library("Blue Sky")


@pytest.fixture
def red_sea() -> Chapter:
    return build_library("Red Sea", source_language="ko", job_status=JobStatus.ERROR)


def changelist(model) -> str:
    return reverse(f"admin:translations_{model._meta.model_name}_changelist")


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_manga_list_shows_each_manga_with_its_chapter_count_and_cover(admin_client, blue_sky, red_sea):
    response = admin_client.get(changelist(Manga))

    assert {manga.title for manga in listed(response)} == {"Blue Sky", "Red Sea"}
    assert [manga.chapter_count for manga in listed(response)] == [1, 1]
    first_page = blue_sky.pages.get(index=1)
    assert reverse("page-thumbnail", args=[first_page.pk]) in response.content.decode()


def test_the_manga_cover_is_the_page_it_names(admin_client, blue_sky):
    second_page = blue_sky.pages.get(index=2)
    Manga.objects.filter(pk=blue_sky.manga_id).update(cover=second_page.image)

    [manga] = listed(admin_client.get(changelist(Manga)))

    assert manga.cover_page_id == second_page.pk


def test_the_chapter_list_shows_page_count_and_latest_job(admin_client, blue_sky, red_sea):
    response = admin_client.get(changelist(Chapter))

    rows = {chapter.manga.title: chapter for chapter in listed(response)}
    assert rows["Blue Sky"].page_count == 2
    assert rows["Red Sea"].latest_job_status == JobStatus.ERROR
    assert "Succeeded" in response.content.decode()


def test_the_page_list_shows_a_thumbnail_of_every_page(admin_client, blue_sky, red_sea):
    response = admin_client.get(changelist(Page))

    assert len(listed(response)) == 4
    html = response.content.decode()
    for page in Page.objects.all():
        assert reverse("page-thumbnail", args=[page.pk]) in html
    assert "60\N{MULTIPLICATION SIGN}90" in html


def test_the_job_list_shows_status_counters_and_transport_ratio(admin_client, blue_sky, red_sea):
    response = admin_client.get(changelist(TranslationJob))

    assert {job.status for job in listed(response)} == {JobStatus.SUCCESS, JobStatus.ERROR}
    html = response.content.decode()
    assert "25.0%" in html
    assert "0/2/2" in html


def test_the_page_result_list_shows_every_result(admin_client, blue_sky, red_sea):
    response = admin_client.get(changelist(PageResult))

    assert len(listed(response)) == 4
    assert "translate" in response.content.decode()


@pytest.mark.parametrize(
    ("model", "query"),
    [
        (Manga, "blue"),
        (Chapter, "blue sky"),
        (Chapter, "sky begins"),
        (Page, "blue"),
        (TranslationJob, "blue"),
        (PageResult, "blue"),
    ],
)
def test_search_finds_rows_by_manga_title(admin_client, blue_sky, red_sea, model, query):
    rows = listed(admin_client.get(changelist(model), {"q": query}))

    assert rows
    assert "Red Sea" not in {str(row) for row in rows}
    assert all("Blue Sky" in str(row) for row in rows)


@pytest.mark.parametrize(
    ("model", "filters"),
    [
        (Manga, {"source_language__exact": "ko"}),
        (Chapter, {"manga__id__exact": "red-sea"}),
        (Page, {"chapter__manga__id__exact": "red-sea"}),
        (TranslationJob, {"status__exact": "error"}),
        (PageResult, {"fallback_used__exact": "1"}),
        (PageResult, {"failure_stage": "translate"}),
    ],
)
def test_a_filter_keeps_only_matching_rows(admin_client, blue_sky, red_sea, model, filters):
    filters = {name: red_sea.manga_id if value == "red-sea" else value for name, value in filters.items()}

    rows = listed(admin_client.get(changelist(model), filters))

    assert rows
    assert all("Red Sea" in str(row) for row in rows)


def test_the_chapter_page_shows_a_thumbnail_of_each_page(admin_client, blue_sky):
    response = admin_client.get(reverse("admin:translations_chapter_change", args=[blue_sky.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    for page in blue_sky.pages.all():
        assert f'src="{reverse("page-thumbnail", args=[page.pk])}" loading="lazy"' in html
    assert reverse("admin:translations_translationjob_change", args=[blue_sky.jobs.get().pk]) in html


def test_the_page_detail_shows_a_bigger_preview(admin_client, blue_sky):
    page = blue_sky.pages.get(index=1)

    response = admin_client.get(reverse("admin:translations_page_change", args=[page.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("page-image", args=[page.pk]) in html
    assert 'name="sha256"' not in html
    assert page.sha256 in html


@pytest.mark.parametrize("model", [Page, TranslationJob, PageResult])
def test_rows_made_by_the_import_or_the_pipeline_cannot_be_added(admin_client, model):
    response = admin_client.get(reverse(f"admin:translations_{model._meta.model_name}_add"))

    assert response.status_code == 403


def test_a_job_is_shown_read_only_with_its_page_results(admin_client, blue_sky):
    job = blue_sky.jobs.get()

    response = admin_client.get(reverse("admin:translations_translationjob_change", args=[job.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="status"' not in html
    assert 'name="_save"' not in html
    assert "Succeeded" in html
    for result in job.page_results.all():
        assert reverse("admin:translations_pageresult_change", args=[result.pk]) in html


def test_a_page_result_is_shown_read_only_with_pretty_json(admin_client, blue_sky):
    result = PageResult.objects.filter(job__chapter=blue_sky).first()

    response = admin_client.get(reverse("admin:translations_pageresult_change", args=[result.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="status"' not in html
    assert 'name="regions"' not in html
    assert "\n  &quot;detect&quot;: 12" in html  # indented; PostgreSQL reorders keys
    assert "&lt;b&gt;こんにちは&lt;/b&gt;" in html
    assert "<b>こんにちは</b>" not in html


def test_a_page_result_cannot_be_changed_by_a_post(admin_client, blue_sky):
    result = PageResult.objects.filter(job__chapter=blue_sky).first()

    response = admin_client.post(
        reverse("admin:translations_pageresult_change", args=[result.pk]), {"status": "failed"}
    )

    assert response.status_code == 403
    result.refresh_from_db()
    assert result.status == ResultStatus.SUCCEEDED


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_a_queued_or_running_job_cannot_be_deleted(admin_client, status):
    job = build_library("Blue Sky", job_status=status).jobs.get()

    response = admin_client.post(reverse("admin:translations_translationjob_delete", args=[job.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert TranslationJob.objects.filter(pk=job.pk).exists()


def test_a_finished_job_is_deleted_with_its_page_results(admin_client, blue_sky):
    job = blue_sky.jobs.get()

    response = admin_client.post(reverse("admin:translations_translationjob_delete", args=[job.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not TranslationJob.objects.filter(pk=job.pk).exists()
    assert not PageResult.objects.filter(job_id=job.pk).exists()
    assert blue_sky.pages.count() == 2


@pytest.mark.parametrize("model", [Manga, Chapter, Page, TranslationJob, PageResult])
def test_a_changelist_makes_as_many_queries_for_20_pages_as_for_2(admin_client, django_assert_max_num_queries, model):
    build_library("Manga 0")
    admin_client.get(changelist(model))  # warm the session and the content-type cache
    with CaptureQueriesContext(connection) as few:
        assert len(listed(admin_client.get(changelist(model)))) >= 1

    for number in range(1, 10):
        build_library(f"Manga {number}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(listed(admin_client.get(changelist(model)))) >= 10


@pytest.mark.parametrize(
    ("url_name", "parent"),
    [("admin:translations_chapter_change", "chapter"), ("admin:translations_translationjob_change", "job")],
)
def test_a_change_page_makes_as_many_queries_for_20_pages_as_for_2(
    admin_client, django_assert_max_num_queries, url_name, parent
):
    few = build_library("Few", pages=2)
    many = build_library("Many", pages=20)

    def url(chapter: Chapter) -> str:
        return reverse(url_name, args=[chapter.pk if parent == "chapter" else chapter.jobs.get().pk])

    admin_client.get(url(few))
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url(few)).status_code == 200

    with django_assert_max_num_queries(len(queries.captured_queries)):
        assert admin_client.get(url(many)).status_code == 200
