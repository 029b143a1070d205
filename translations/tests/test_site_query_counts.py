"""Pinned query counts: the library, a manga page and the reader cost the same for a small and a large library."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from translations.models import Chapter, JobEvent, Manga, Page, PageResult, ReadingPosition, TranslationJob
from translations.tests.job_helpers import make_staff

pytestmark = pytest.mark.django_db

# Session + user, then the page's own reads (see reader_selectors.py). The first request computes the
# cached parts (views/fragments.py); the second finds them and reads only what is per person.
LIBRARY_QUERIES = 7  # library version, count, page of manga, recently updated, continue reading
LIBRARY_QUERIES_CACHED = 4  # the count, the page of manga and "recently updated" come from the cache
MANGA_QUERIES = 12  # manga, chapter count, position, last number, first chapter, a page of chapters, their
# page counts, latest jobs, and for staff their permissions (may they watch jobs)
MANGA_QUERIES_CACHED = 7  # the chapter count, the chapters, their page counts, latest jobs and the first
# chapter come from the cache
READER_QUERIES = 10  # manga, chapter, latest jobs, results, pages, previous, next, position
READER_QUERIES_CACHED = 5  # latest jobs, results, pages, previous and next come from the cache


def library_of(count: int) -> None:
    Manga.objects.bulk_create(
        Manga(slug=f"manga-{i:04d}", title=f"Manga {i:04d}", cover=f"raw/manga-{i:04d}/1/001.png") for i in range(count)
    )
    mangas = list(Manga.objects.all())
    Chapter.objects.bulk_create(Chapter(manga=manga, number=Decimal(1)) for manga in mangas)
    chapters = list(Chapter.objects.all())
    TranslationJob.objects.bulk_create(
        TranslationJob(chapter=chapter, target_language="en", translator="test", backend="local", status="success")
        for chapter in chapters
    )


def manga_of(chapters: int) -> Manga:
    manga = Manga.objects.create(slug="big", title="Big")
    Chapter.objects.bulk_create(Chapter(manga=manga, number=Decimal(n)) for n in range(1, chapters + 1))
    jobs = TranslationJob.objects.bulk_create(
        TranslationJob(chapter=chapter, target_language=lang, translator="test", backend="local", status=status)
        for chapter in manga.chapters.all()
        for lang, status in (("en", "running"), ("fr", "success"))
    )
    JobEvent.objects.bulk_create(
        JobEvent(job=job, seq=1, type="page.stage", payload={"page": 1, "stage": "pipeline"}) for job in jobs
    )
    return manga


def chapter_of(pages: int) -> Chapter:
    manga = Manga.objects.create(slug="long", title="Long")
    chapter = Chapter.objects.create(manga=manga, number=Decimal(1))
    Chapter.objects.create(manga=manga, number=Decimal(2))
    Page.objects.bulk_create(
        Page(
            chapter=chapter, index=i, image=f"raw/long/1/{i:03d}.png", width=800, height=1200, size_bytes=1, sha256="0"
        )
        for i in range(1, pages + 1)
    )
    job = TranslationJob.objects.create(
        chapter=chapter, target_language="en", translator="test", backend="local", status="partial", pages_total=pages
    )
    PageResult.objects.bulk_create(
        PageResult(
            job=job,
            page=page,
            status="succeeded" if page.index % 2 else "failed",
            output_path=f"output/x/{page.index}.png",
        )
        for page in chapter.pages.all()
    )
    return chapter


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def staff_client():
    client = Client()
    user = make_staff()
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize("size", [5, 500])
def test_the_library_costs_the_same_for_5_and_500_manga(staff_client, size):
    library_of(size)
    manga = Manga.objects.first()
    ReadingPosition.objects.create(user=staff_client.user, manga=manga, chapter=manga.chapters.first())
    assert queries(staff_client, "/") == LIBRARY_QUERIES
    assert queries(staff_client, "/") == LIBRARY_QUERIES_CACHED
    # A filter shows no "continue reading" nor "recently updated" strip.
    assert queries(staff_client, "/?target=en&state=translated&sort=updated") == LIBRARY_QUERIES - 2
    assert queries(staff_client, "/?target=en&state=translated&sort=updated") == LIBRARY_QUERIES_CACHED - 1
    # A free-text search is never cached (and reads no library version).
    for _ in range(2):
        assert queries(staff_client, "/?q=manga&target=en&state=translated&sort=updated") == LIBRARY_QUERIES - 3


@pytest.mark.parametrize("size", [2, 200])
def test_a_manga_page_costs_the_same_for_2_and_200_chapters(staff_client, size):
    manga_of(size)
    assert queries(staff_client, "/manga/big/") == MANGA_QUERIES
    assert queries(staff_client, "/manga/big/") == MANGA_QUERIES_CACHED


@pytest.mark.parametrize("size", [2, 200])
def test_the_reader_costs_the_same_for_2_and_200_pages(staff_client, size):
    chapter_of(size)
    assert queries(staff_client, "/read/long/1/") == READER_QUERIES
    assert queries(staff_client, "/read/long/1/") == READER_QUERIES_CACHED
