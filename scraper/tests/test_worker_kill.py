"""Kill the worker mid-download: the sweeper re-queues it and a new worker resumes without refetching stored pages.

Real processes: a django-q2 cluster against the test database (both setups), the local site counting requests.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter

import pytest

from scraper.models import Download, DownloadPage
from scraper.services.downloads import download_request
from scraper.services.sweeper import downloads_sweep
from scraper.testing.madara_site import FixtureChapter, FixtureManga, MadaraSite, fixture_image
from scraper.tests.helpers import chapter_choice, make_source
from translations.models import Chapter

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = 12
WORKER_ENV = {
    "MANGA_SCRAPER_ALLOWED_NETWORKS": "127.0.0.1/32",
    "MANGA_SCRAPER_REQUESTS_PER_SEC": "10",
    "MANGA_SCRAPER_LEASE_SEC": "3",
}


def wait_for(condition, timeout: float, message: str, stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{message} within {timeout}s:\n{stack.logs()}")


def test_a_killed_worker_resumes_without_refetching_stored_pages(stack_factory, broker):
    pages = [fixture_image(500 + n) for n in range(PAGES)]
    catalog = [FixtureManga("long", "Long Road", chapters=[FixtureChapter("Chapter 1", "chapter-1", pages)])]
    with MadaraSite(catalog) as site:
        site.image_delay = 0.4
        source = make_source(site)
        download, _ = download_request(
            source=source,
            manga_url=f"{site.url}manga/long/",
            manga_title="Long Road",
            chapter=chapter_choice(site, "long", "chapter-1", "1"),
        )
        stack = stack_factory(**WORKER_ENV)
        stack.start("qcluster")
        stored = DownloadPage.objects.filter(download=download, status="stored")
        wait_for(lambda: stored.count() >= 4, 90, "the first worker did not store 4 pages", stack)
        stack.kill("qcluster")
        before_kill = set(stored.values_list("index", flat=True))
        assert 4 <= len(before_kill) < PAGES

        time.sleep(3.5)  # the lease (3 s) runs out: no heartbeat from a dead worker
        assert downloads_sweep().requeued == [download.pk]
        stack.start("qcluster")
        wait_for(
            lambda: Download.objects.get(pk=download.pk).status in Download.FINAL,
            120,
            "the second worker did not finish",
            stack,
        )
        download.refresh_from_db()
        assert download.status == Download.Status.SUCCESS, download.error
        assert download.attempts == 2

        fetched = Counter(seen.path for seen in site.seen("/wp-content/"))
        for index in before_kill:
            assert fetched[site.image_path("long", "chapter-1", index)] == 1, index
        assert all(fetched[site.image_path("long", "chapter-1", n)] >= 1 for n in range(1, PAGES + 1))
        assert len(site.seen("/manga/long/chapter-1/")) == 1  # the image list was kept, not fetched again
        chapter = Chapter.objects.get(pk=download.chapter_id)
        assert list(chapter.pages.order_by("index").values_list("sha256", flat=True)) == [
            hashlib.sha256(page).hexdigest() for page in pages
        ]
