"""Downloads in process against the local site: search → pick → download → the chapter is in the library."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone
from django_q.models import Schedule

from scraper.models import Download, DownloadEvent, DownloadPage, ErrorCode
from scraper.services.downloads import (
    ChapterChoice,
    DownloadRefused,
    download_cancel,
    download_request,
    download_retry,
    download_run,
)
from scraper.services.sources import source_provider
from scraper.services.sweeper import downloads_sweep
from scraper.testing.madara_site import FixtureChapter, FixtureManga, MadaraSite, fixture_image
from scraper.tests.helpers import chapter_choice, make_source, page_hashes
from translations import storage
from translations.models import Chapter, Manga, TranslationJob

pytestmark = pytest.mark.django_db(transaction=True)


def request(source, site, manga_slug, chapter_slug, number, **options):
    return download_request(
        source=source,
        manga_url=f"{site.url}manga/{manga_slug}/",
        manga_title=site.manga(manga_slug).title,
        chapter=chapter_choice(site, manga_slug, chapter_slug, number),
        **options,
    )


def test_search_pick_download_puts_the_chapter_in_the_library_in_order(site, broker):
    source = make_source(site)
    provider = source_provider(source)
    (hit,) = provider.search("blue")
    detail = provider.manga(hit.url)
    first = detail.chapters[0]
    download, created = download_request(
        source=source,
        manga_url=detail.url,
        manga_title=detail.title,
        chapter=ChapterChoice(url=first.url, number=first.number, title=first.title),
    )
    assert created and download.status == Download.Status.QUEUED
    assert broker.queue_size() == 1

    assert download_run(download_id=download.pk) == Download.Status.SUCCESS

    download.refresh_from_db()
    chapter = Chapter.objects.get(pk=download.chapter_id)
    assert (chapter.manga.title, chapter.number, chapter.manga.source_language) == ("Blue Sky", Decimal(1), "ko")
    assert chapter.manga.source_url == detail.url and chapter.source_url == first.url
    assert list(chapter.pages.order_by("index").values_list("sha256", flat=True)) == page_hashes(
        site, "blue-sky", "chapter-1"
    )
    assert (download.pages_total, download.pages_stored, download.pages_failed) == (4, 4, 0)
    images = site.seen("/wp-content/")
    assert len(images) == 4 and {r.headers["Referer"] for r in images} == {first.url}
    assert not storage.resolve_path(f"scraper/downloads/{download.pk}").exists()  # staging cleaned up
    types = list(DownloadEvent.objects.filter(download=download).values_list("type", flat=True))
    assert types == ["download.queued", "download.started"] + ["download.page_stored"] * 4 + ["download.finished"]


def test_a_repeat_request_returns_the_active_download(site, broker):
    source = make_source(site)
    first, created = request(source, site, "blue-sky", "chapter-1", "1")
    again, created_again = request(source, site, "blue-sky", "chapter-1", "1")
    assert created and not created_again and again.pk == first.pk
    assert Download.objects.count() == 1


def test_a_url_of_another_host_is_refused(site, broker):
    source = make_source(site)
    with pytest.raises(DownloadRefused, match=r"is not on 127\.0\.0\.1"):
        download_request(
            source=source,
            manga_url="https://elsewhere.example/manga/x/",
            manga_title="X",
            chapter=chapter_choice(site, "blue-sky", "chapter-1", "1"),
        )


def test_an_image_that_is_html_fails_that_page_and_imports_nothing(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-3", "3")
    assert download_run(download_id=download.pk) == Download.Status.PARTIAL
    download.refresh_from_db()
    assert download.error_code == ErrorCode.PAGES_FAILED
    assert "1 of 3 pages failed" in download.error
    page = DownloadPage.objects.get(download=download, index=2)
    assert page.error_code == ErrorCode.NOT_IMAGE and "HTML page" in page.error
    assert not Chapter.objects.exists() and not Manga.objects.exists()


def test_a_retry_fetches_only_the_pages_that_failed(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-3", "3")
    download_run(download_id=download.pk)
    fixed = fixture_image(32)
    next(c for c in site.manga("blue-sky").chapters if c.slug == "chapter-3").pages[1] = fixed
    before = len(site.seen("/wp-content/"))

    download_retry(download=download)
    assert download_run(download_id=download.pk) == Download.Status.SUCCESS

    refetched = [r.path for r in site.seen("/wp-content/")[before:]]
    assert refetched == [site.image_path("blue-sky", "chapter-3", 2)]
    chapter = Chapter.objects.get(manga__slug="blue-sky", number=3)
    assert chapter.pages.count() == 3


def test_a_truncated_image_fails_with_its_reason(site, broker):
    source = make_source(site, language="ja")
    download, _ = request(source, site, "desert-wind", "chapter-2", "2")
    assert download_run(download_id=download.pk) == Download.Status.PARTIAL
    page = DownloadPage.objects.get(download=download, index=1)
    assert page.error_code == ErrorCode.INVALID_IMAGE
    assert "corrupt or truncated" in page.error or "not an image" in page.error


def test_a_challenge_fails_the_download_with_an_actionable_code(site, broker):
    source = make_source(site)
    download, _ = download_request(
        source=source,
        manga_url=f"{site.url}manga/blue-sky/",
        manga_title="Blue Sky",
        chapter=ChapterChoice(url=f"{site.url}challenge/", number=Decimal(1)),
    )
    assert download_run(download_id=download.pk) == Download.Status.ERROR
    download.refresh_from_db()
    assert download.error_code == ErrorCode.CHALLENGE and "cookies" in download.error
    assert len(site.seen("/challenge/")) == 1


def test_a_cancelled_download_is_not_run(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-1", "1")
    assert download_cancel(download=download)
    assert download_run(download_id=download.pk) == "inactive"
    assert not site.seen("/wp-content/")
    assert not download_cancel(download=download)


def test_download_and_translate_chains_a_translation_job(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-2", "2", translate_to="en", translator="none")
    assert download_run(download_id=download.pk) == Download.Status.SUCCESS
    download.refresh_from_db()
    job = TranslationJob.objects.get(pk=download.translation_job_id)
    assert (job.chapter_id, job.target_language, job.translator) == (download.chapter_id, "en", "none")
    assert job.pages_total == 3
    finished = DownloadEvent.objects.get(download=download, type="download.finished")
    assert finished.payload["translation_job"] == job.pk


def test_downloading_the_same_chapter_again_changes_nothing(site, broker):
    source = make_source(site)
    first, _ = request(source, site, "blue-sky", "chapter-1", "1")
    download_run(download_id=first.pk)
    second, created = request(source, site, "blue-sky", "chapter-1", "1")
    assert created
    assert download_run(download_id=second.pk) == Download.Status.SUCCESS
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.chapter_id == first.chapter_id is not None
    assert Chapter.objects.get().pages.count() == 4


def test_the_sweeper_requeues_a_download_whose_worker_died(site, broker, settings):
    settings.MANGA_SCRAPER_MAX_ATTEMPTS = 2
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-1", "1")
    # A worker claimed it and died: running, lease in the past.
    Download.objects.filter(pk=download.pk).update(
        status="running", attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    report = downloads_sweep()
    assert report.requeued == [download.pk]
    download.refresh_from_db()
    assert download.status == Download.Status.QUEUED

    Download.objects.filter(pk=download.pk).update(
        status="running", attempts=2, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    report = downloads_sweep()
    assert report.failed == [download.pk]
    download.refresh_from_db()
    assert (download.status, download.error_code) == (Download.Status.ERROR, ErrorCode.WORKER_LOST)


def test_the_sweeper_leaves_a_download_with_a_live_lease_alone(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-1", "1")
    Download.objects.filter(pk=download.pk).update(
        status="running", attempts=1, lease_expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert downloads_sweep().requeued == []


def test_cancelling_a_running_download_stops_it_before_the_remaining_pages(site, broker, settings):
    settings.MANGA_SCRAPER_REQUESTS_PER_SEC = 5
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-1", "1")
    site.image_delay = 0.3
    worker = threading.Thread(target=download_run, kwargs={"download_id": download.pk})
    worker.start()
    deadline = time.monotonic() + 20
    while not DownloadPage.objects.filter(download=download, status="stored").exists():
        assert time.monotonic() < deadline, "no page was stored"
        time.sleep(0.05)
    assert download_cancel(download=download)
    worker.join(timeout=20)
    download.refresh_from_db()
    assert download.status == Download.Status.CANCELLED
    assert not Chapter.objects.exists()
    assert DownloadEvent.objects.filter(download=download, type="download.finished").count() == 1


def test_deleting_a_download_removes_its_staged_pages(site, broker):
    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-3", "3")
    download_run(download_id=download.pk)
    staged = storage.resolve_path(f"scraper/downloads/{download.pk}")
    assert sorted(p.name for p in staged.iterdir()) == ["001.png", "003.png"]
    Download.objects.filter(pk=download.pk).delete()
    assert not staged.exists()


def test_the_sweeper_schedule_is_installed_by_migrate():
    # The test database is flushed between transactional tests, so the data migration runs again here.

    importlib.import_module("scraper.migrations.0002_sweeper_schedule").create_schedule(apps, None)
    schedule = Schedule.objects.get(name="scraper: sweep downloads")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("scraper.tasks.sweep_downloads", "I", 1)


def test_a_bug_in_a_provider_fails_the_download_as_internal_and_reaches_the_task_log(site, broker):
    class BrokenProvider:
        client = None

        def page_images(self, chapter_url):
            raise RuntimeError("a bug")

    source = make_source(site)
    download, _ = request(source, site, "blue-sky", "chapter-1", "1")
    with pytest.raises(RuntimeError):
        download_run(download_id=download.pk, provider=BrokenProvider())
    download.refresh_from_db()
    assert (download.status, download.error_code) == (Download.Status.ERROR, ErrorCode.INTERNAL)
    assert "RuntimeError: a bug" in download.error


def test_image_addresses_from_scraped_html_go_through_the_ssrf_guard(broker):
    pages = [fixture_image(1), "private", fixture_image(3)]
    with MadaraSite([FixtureManga("trap", "Trap", chapters=[FixtureChapter("Chapter 1", "chapter-1", pages)])]) as site:
        download, _ = request(make_source(site), site, "trap", "chapter-1", "1")
        assert download_run(download_id=download.pk) == Download.Status.PARTIAL
    page = DownloadPage.objects.get(download=download, index=2)
    assert page.error_code == ErrorCode.BLOCKED_ADDRESS and "169.254.169.254" in page.error
    assert not Chapter.objects.exists()
