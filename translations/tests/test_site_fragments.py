"""The reader pages' cached parts (views/fragments.py): a change is on the next page served, whoever made it.

Each test fills the cache with a first request, changes the library the way the product does (a
service, the admin's save, a worker's events), and asserts what the next request shows.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from translations.models import Chapter, Manga, PageResult
from translations.services.chapters import chapter_delete
from translations.services.execution import job_run
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation, job_cancel, page_retry
from translations.tests.job_helpers import ScriptedExecutor, make_chapter, make_staff, page_image
from translations.tests.library import store_page
from translations.tests.site_helpers import make_reader, translated_chapter
from translations.views.fragments import requested_page

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "demo" / "wikipe-tan"


def table(html: str) -> str:
    return html[html.index('<table class="chapters">') : html.index("</table>")]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def version(manga: Manga) -> int:
    return Manga.objects.values_list("version", flat=True).get(pk=manga.pk)


@pytest.fixture
def staff():
    return signed_in(make_staff())


def test_every_change_the_pages_show_moves_the_manga_version():
    chapter = make_chapter(2)
    manga = chapter.manga
    seen = [version(manga)]

    def moved() -> None:
        seen.append(version(manga))
        assert seen[-1] > seen[-2], seen

    Chapter.objects.create(manga=manga, number=Decimal(2))
    moved()
    chapter.title = "Renamed"
    chapter.save()
    moved()
    stale = Manga.objects.get(pk=manga.pk)
    manga.title = "Renamed too"
    manga.save()  # from a copy loaded before the changes above: the version still moves forward
    moved()
    stale.save()
    moved()
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)  # job, results, event
    moved()
    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))  # each page's events and results
    moved()
    page_retry(page_result=PageResult.objects.get(job=job, page__index=2))
    moved()
    job_cancel(job=job)
    moved()
    second = Chapter.objects.get(manga=manga, number=2)
    page = store_page(second, 1, page_image(1))
    moved()
    page.delete()
    moved()
    chapter_delete(chapter=second)
    moved()
    imported = chapter_import(source=DEMO, manga_title=manga.title, manga_slug=manga.slug, chapter_number=Decimal(3))
    assert imported.chapter.manga_id == manga.pk
    moved()


def test_the_manga_page_shows_a_new_chapter_a_renamed_one_and_a_job_as_it_runs(staff):
    chapter = make_chapter(2, slug="blue-sky")
    first = staff.get("/manga/blue-sky/").content.decode()
    assert 'data-chapter="1"' in first and 'data-chapter="2"' not in first
    assert table(staff.get("/manga/blue-sky/").content.decode()) == table(first)  # the cached table

    Chapter.objects.create(manga=chapter.manga, number=Decimal(2), title="The second one")
    assert 'data-chapter="2"' in (page := staff.get("/manga/blue-sky/").content.decode())
    assert "The second one" in page

    chapter.title = "A better title"
    chapter.save()
    assert "A better title" in staff.get("/manga/blue-sky/").content.decode()

    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    assert f'data-job="{job.pk}" data-active="1"' in staff.get("/manga/blue-sky/").content.decode()
    job_run(job_id=job.pk, executor=ScriptedExecutor({}))
    page = staff.get("/manga/blue-sky/").content.decode()
    assert f'data-job="{job.pk}" data-active="0"' in page
    assert "2/2" in page


def test_the_reader_shows_a_retried_page_once_it_is_translated(staff):
    chapter, job = translated_chapter(3, script={2: "fail"})
    url = f"/read/{chapter.manga.slug}/1/"
    assert '<figure class="page" id="page-2" data-index="2" data-state="failed">' in staff.get(url).content.decode()

    result = PageResult.objects.get(job=job, page__index=2)
    page_retry(page_result=result)
    assert 'id="page-2" data-index="2" data-state="pending"' in staff.get(url).content.decode()
    job_run(job_id=job.pk, executor=ScriptedExecutor({}))
    assert 'id="page-2" data-index="2" data-state="translated"' in staff.get(url).content.decode()


def test_the_library_shows_added_renamed_and_deleted_manga():
    reader = signed_in(make_reader())
    make_chapter(1, slug="blue-sky")
    assert "Blue-Sky" in reader.get("/").content.decode()
    make_chapter(1, slug="red-moon")
    assert "Red-Moon" in reader.get("/").content.decode()

    manga = Manga.objects.get(slug="red-moon")
    manga.title = "Red Moon Rising"
    manga.save()
    assert "Red Moon Rising" in reader.get("/").content.decode()
    manga.delete()
    page = reader.get("/").content.decode()
    assert "Red Moon" not in page and "Blue-Sky" in page


def test_staff_and_readers_never_share_a_cached_part(staff):
    make_chapter(1, slug="blue-sky")
    Manga.objects.filter(slug="blue-sky").update(private=True)
    make_chapter(1, slug="open-book")
    reader = signed_in(make_reader())
    assert "Blue-Sky" in staff.get("/").content.decode()
    page = reader.get("/").content.decode()
    assert "Open-Book" in page and "Blue-Sky" not in page
    # The staff buttons of the chapter table are not in a reader's copy.
    assert "chapter-translate" in staff.get("/manga/open-book/").content.decode()
    assert "chapter-translate" not in reader.get("/manga/open-book/").content.decode()


def test_a_cache_that_fails_is_worked_around(settings, staff):
    # Nothing listens on port 9 (discard): every cache call raises (Django reconnects the caches on the change).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    make_chapter(2, slug="blue-sky")
    for url in ("/", "/manga/blue-sky/", "/read/blue-sky/1/"):
        assert staff.get(url).status_code == 200, url
    assert 'data-chapter="1"' in staff.get("/manga/blue-sky/").content.decode()


def test_with_the_cache_off_every_request_reads_the_database(settings, staff):
    settings.MANGA_FRAGMENT_CACHE_SECONDS = 0
    chapter = make_chapter(2, slug="blue-sky")
    staff.get("/manga/blue-sky/")
    Chapter.objects.filter(pk=chapter.pk).update(title="Changed behind the signals' back")
    assert "Changed behind the signals" in staff.get("/manga/blue-sky/").content.decode()


@pytest.mark.parametrize(
    ("given", "key"),
    [(None, 1), ("", 1), ("2", 2), ("10000", 10_000), ("10001", 1), ("0", 1), ("-3", 1), ("x", 1), ("last", 1)],
)
def test_a_page_number_is_a_bounded_key(given, key):
    assert requested_page(given) == key


def test_the_chapter_table_pages_through_a_long_manga(staff):
    chapter = make_chapter(1, slug="long")
    Chapter.objects.bulk_create(Chapter(manga=chapter.manga, number=Decimal(n)) for n in range(2, 131))
    Manga.bump_version(pk=chapter.manga_id)
    second = staff.get("/manga/long/?page=2").content.decode()
    assert 'data-chapter="101"' in second and 'data-chapter="100"' not in second
    assert table(staff.get("/manga/long/?page=3").content.decode()) == table(second)  # past the end: the last
    assert 'data-chapter="1"' in staff.get("/manga/long/?page=99999").content.decode()  # out of bounds: page 1
