"""/scraper/ in a real browser: search → open → tick a chapter → download and translate → both done, live.

daphne and a django-q2 cluster as subprocesses, the local Madara site serving the Wikipe-tan pages,
the `test` translator through the local pipeline.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from scraper.models import Download
from scraper.testing.madara_site import FixtureChapter, FixtureManga, MadaraSite
from scraper.tests.browser import browser_page  # noqa: F401  (the fixture)
from scraper.tests.helpers import make_source
from translations.models import PageResult, TranslationJob
from translations.tests.job_helpers import make_staff
from translations.tests.live_stack import models_missing, session_of

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wikipe-tan"
WORKER_ENV = {
    "MANGA_SCRAPER_ALLOWED_NETWORKS": "127.0.0.1/32",
    "MANGA_SCRAPER_REQUESTS_PER_SEC": "20",
    "MANGA_TRANSLATE_EXECUTION_BACKEND": "local",
    "MANGA_PROGRESS_POLL_MS": "200",
}


@pytest.mark.skipif(bool(models_missing()), reason=f"page models missing: {models_missing()} (make models)")
def test_staff_search_pick_download_and_translate_a_chapter_in_the_browser(
    stack_factory,
    browser_page,  # noqa: F811
    tmp_path,
):
    pages = [(DEMO / "01.jpg").read_bytes(), (DEMO / "02.jpg").read_bytes()]
    catalog = [
        FixtureManga("wikipe-tan", "Wikipe-tan Adventures", chapters=[FixtureChapter("Chapter 1", "chapter-1", pages)])
    ]
    with MadaraSite(catalog) as site:
        make_source(site, name="Local Madara", language="ja")
        staff = make_staff()
        stack = stack_factory(**WORKER_ENV, STATIC_ROOT=str(tmp_path / "static"))
        # Served as in production: DEBUG off, static files collected with their manifest.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=stack.env, check=True
        )
        stack.start("daphne")
        stack.start("qcluster")
        base = f"http://127.0.0.1:{stack.port}"
        page = browser_page
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_of(staff), "url": base}]
        )

        page.goto(f"{base}/scraper/")
        page.get_by_label("Search Local Madara").fill("wikipe")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="Wikipe-tan Adventures").click()
        page.get_by_label("Chapter 1").check()
        page.get_by_label("then translate into").check()
        page.get_by_label("Target language").select_option("en")
        page.get_by_label("with").select_option("test")
        page.get_by_role("button", name="Download", exact=True).click()

        page.wait_for_url(f"{base}/scraper/downloads/*/")
        status = page.locator("#download-status")
        status.filter(has_text="success").wait_for(timeout=60_000)
        assert page.locator("#download-pages").inner_text() == "2/2"
        page.locator("#job-status").filter(has_text="success").wait_for(timeout=300_000)

        download = Download.objects.get()
        assert download.status == Download.Status.SUCCESS and download.requested_by == staff
        job = TranslationJob.objects.get(pk=download.translation_job_id)
        assert (job.status, job.translator, job.target_language) == ("success", "test", "en")
        assert list(job.chapter.pages.order_by("index").values_list("size_bytes", flat=True)) == [
            len(data) for data in pages
        ]
        results = PageResult.objects.filter(job=job)
        assert results.count() == 2 and all(r.status in ("succeeded", "no_text") for r in results)
        assert any(r.status == "succeeded" for r in results), [r.error for r in results]
        # The image requests carried the reader page as Referer, as a browser would send.
        assert {seen.headers.get("Referer") for seen in site.seen("/wp-content/")} == {download.chapter_url}
