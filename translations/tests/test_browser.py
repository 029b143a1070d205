"""The reader site in a real browser (Debian chromium driven by Playwright) against real daphne and qcluster.

Runs on both setups, like the other end-to-end tests: the server and the workers are subprocesses
on this test's database. Any JavaScript console error fails a test. Screenshots of every page go
to MANGA_TEST_SCREENSHOTS (default data/screenshots/), for review.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from django.conf import settings as django_settings
from PIL import Image

from translations.models import PageResult, ReadingPosition, TranslationJob
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter, make_staff
from translations.tests.live_stack import DEMO, ROOT, Stack, models_missing

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("MANGA_TEST_SCREENSHOTS") or ROOT / "data" / "screenshots")
TOKEN = "browser-test-token-0123456789"
PASSWORD = "a long enough password 42"
SLOW = 300_000  # ms: three pages through the real pipeline on two shared cores


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker):
    """One chromium for this module's tests.

    Playwright's sync API keeps an event loop running in this thread while it lives, and Django
    refuses ORM calls beside a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The calls
    here are plain sync code on this thread, so the flag is set for this module only and the
    browser is closed before any other module's tests run.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make install brings it)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """Collected static files, so the server runs as deployed (manifest storage) when a SECRET_KEY is set."""
    root = tmp_path_factory.mktemp("static")
    # The servers (Stack) get this process's SECRET_KEY, which conftest sets for tests, so they run
    # with DEBUG off and the manifest storage: collect with the same key, so the manifest is written.
    env = {**os.environ, "STATIC_ROOT": str(root), "SECRET_KEY": django_settings.SECRET_KEY}
    env.pop("DEBUG", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    return root


@pytest.fixture
def stacks(data_dir, tmp_path, static_root):
    made: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(data_dir, tmp_path, STATIC_ROOT=str(static_root), **env)
        made.append(stack)
        stack.start("daphne")
        stack.start("qcluster")
        return stack

    yield make
    for stack in made:
        stack.stop()
        print(stack.logs())  # shown by pytest only when the test fails


class Tab:
    """One browser page that records console errors and saves named screenshots."""

    def __init__(self, context, base: str, test_name: str) -> None:
        self.page = context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.folder = SCREENSHOTS / test_name
        self.folder.mkdir(parents=True, exist_ok=True)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)

    def assert_no_errors(self) -> None:
        assert self.errors == []


def make_cbz(path: Path) -> Path:
    blank = io.BytesIO()
    Image.new("RGB", (400, 600), "white").save(blank, format="PNG")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("01.jpg", (DEMO / "01.jpg").read_bytes())
        archive.writestr("02.jpg", (DEMO / "02.jpg").read_bytes())
        archive.writestr("03.png", blank.getvalue())
    return path


def current_page(tab: Tab) -> int:
    return int(tab.page.locator("#pages .page.current").get_attribute("data-index"))


def sign_in(tab: Tab, username: str) -> None:
    tab.goto("/accounts/login/")
    tab.page.get_by_label("Username").fill(username)
    tab.page.get_by_label("Password").fill("a password")
    tab.page.get_by_role("button", name="Sign in").click()
    tab.page.wait_for_url(f"{tab.base}/")


@pytest.mark.skipif(bool(models_missing()), reason=f"page models missing: {models_missing()} (make models)")
def test_first_run_upload_translate_and_read_in_the_browser(browser, stacks, tmp_path):
    stack = stacks(MANGA_TRANSLATE_EXECUTION_BACKEND="local")
    base = f"http://127.0.0.1:{stack.port}"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = Tab(context, base, "first-run")
    page = tab.page

    # First run: /setup makes the first staff account, then answers 404.
    tab.goto("/setup")
    tab.shot("01-setup")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create the staff account").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_text("The library is empty.").is_visible()
    tab.shot("02-library-empty")
    assert requests.get(f"{base}/setup", timeout=10).status_code == 404

    # Upload a CBZ as the first chapter of a new manga.
    page.get_by_label("Manga title").fill("Wikipe-tan")
    page.get_by_label("Pages").set_input_files(str(make_cbz(tmp_path / "wikipe-tan-1.cbz")))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{base}/manga/wikipe-tan/")
    assert page.get_by_text("Chapter 1 of Wikipe-tan uploaded.").is_visible()
    tab.shot("03-manga-uploaded")

    # Translate with the test translator; the bar reaches 100 % through the WebSocket, without a reload.
    page.get_by_label("Translator").select_option("test")
    clicked = time.monotonic()
    page.get_by_role("button", name="Translate").click()
    page.wait_for_url(f"{base}/manga/wikipe-tan/")
    page.evaluate("window.notReloaded = true")
    job = TranslationJob.objects.get()
    assert (job.translator, job.target_language) == ("test", "en")
    page.wait_for_function("document.querySelector('.job-progress').value === 100", timeout=SLOW)
    assert page.evaluate("window.notReloaded") is True
    # job.finished follows the last page's event.
    page.wait_for_function("document.querySelector('.job-status').textContent === 'Translated'", timeout=30_000)
    assert page.locator(".job-percent").inner_text() == "100%"
    assert page.get_by_role("button", name="Cancel").is_hidden()
    assert page.get_by_role("button", name="Retry failed pages").is_hidden()
    assert page.get_by_role("link", name="CBZ").is_visible()
    tab.shot("04-manga-translated")
    print(f"translate clicked → progress at 100 %: {time.monotonic() - clicked:.1f} s")

    # The reader shows the translated pages.
    page.get_by_role("link", name="Read", exact=True).click()
    page.wait_for_url(f"{base}/read/wikipe-tan/1/?lang=en")
    first = page.locator("#page-1 img.main")
    assert "/media/results/" in first.get_attribute("src")
    page.wait_for_function("document.querySelector('#page-1 img.main').naturalWidth > 0")
    assert page.locator("#page-3").get_attribute("data-state") == "no_text"
    assert page.get_by_role("button", name="Retry failed pages").is_hidden()
    tab.shot("05-reader-translated")

    # t toggles to the original and back.
    page.keyboard.press("t")
    assert "/media/pages/" in first.get_attribute("src")
    tab.shot("06-reader-original")
    page.keyboard.press("t")
    assert "/media/results/" in first.get_attribute("src")

    # The compare slider moves the split between original and translation.
    page.get_by_role("button", name="Compare").click()
    page.locator("#compare-range").fill("20")
    split = page.evaluate("getComputedStyle(document.getElementById('pages')).getPropertyValue('--split').trim()")
    assert split == "20%"
    assert page.locator("#page-1 img.compare").is_visible()
    assert "/media/pages/" in page.locator("#page-1 img.compare").get_attribute("src")
    tab.shot("07-reader-compare")
    page.get_by_role("button", name="Compare").click()

    # Japanese reads right to left: the left arrow is the next page.
    assert page.locator("#pages").get_attribute("dir") == "rtl"
    assert current_page(tab) == 1
    page.keyboard.press("ArrowLeft")
    assert current_page(tab) == 2
    tab.shot("08-reader-rtl-page-2")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert current_page(tab) == 2
    # The position is remembered server side.
    deadline = time.monotonic() + 10
    while not ReadingPosition.objects.filter(page=2).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    position = ReadingPosition.objects.get()
    assert (position.page, position.mode, position.direction) == (2, "paged", "rtl")

    # The CBZ downloads from the manga page and its ComicInfo.xml parses.
    tab.goto("/manga/wikipe-tan/")
    with page.expect_download() as download:
        page.get_by_role("link", name="CBZ").click()
    archive = zipfile.ZipFile(download.value.path())
    assert archive.namelist() == ["ComicInfo.xml", "001.jpg", "002.jpg", "003.png"]
    info = ElementTree.fromstring(archive.read("ComicInfo.xml"))  # noqa: S314 (our own server's output)
    assert (info.findtext("Series"), info.findtext("Number"), info.findtext("PageCount")) == ("Wikipe-tan", "1", "3")
    tab.goto("/")
    tab.shot("09-library")
    tab.assert_no_errors()
    context.close()


def test_a_failed_page_is_retried_from_the_reader_and_a_phone_swipes(browser, stacks):
    with ComputeStub(token=TOKEN, script={"002.png": ["422"]}) as stub:
        stack = stacks(
            MANGA_TRANSLATE_EXECUTION_BACKEND="cloudrun",
            MANGA_CLOUDRUN_EXEC_URL=stub.url,
            MANGA_INTERNAL_API_TOKEN=TOKEN,
        )
        base = f"http://127.0.0.1:{stack.port}"
        make_chapter(3)
        make_staff()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = Tab(context, base, "retry-and-swipe")
        page = tab.page
        sign_in(tab, "staff")

        tab.goto("/manga/blue-sky/")
        page.get_by_label("Translator").select_option("test")
        page.get_by_role("button", name="Translate").click()
        page.locator(".job-status", has_text="Translated, some pages failed").wait_for(timeout=60_000)
        tab.shot("01-manga-partial")

        # The failed page says why, and staff retry it from the reader; it swaps in live.
        page.get_by_role("link", name="Read", exact=True).click()
        page.wait_for_url(f"{base}/read/blue-sky/1/?lang=en")  # waits for the load event: the script ran
        failed = page.locator("#page-2")
        tab.assert_no_errors()
        assert failed.get_attribute("data-state") == "failed"
        page.keyboard.press("ArrowLeft")
        assert "scripted 422" in failed.locator(".failure").inner_text()
        assert failed.locator(".badge").inner_text() == "Failed"
        tab.shot("02-reader-failed-page")
        failed.get_by_role("button", name="Retry this page").click()
        page.wait_for_function("document.querySelector('#page-2').dataset.state === 'translated'", timeout=60_000)
        assert "/media/results/" in failed.locator("img.main").get_attribute("src")
        page.wait_for_function("document.querySelector('#page-2 img.main').naturalWidth > 0")
        assert failed.get_by_role("button", name="Retry this page").is_hidden()
        tab.shot("03-reader-retried-page")
        assert [request.step for request in stub.requests_for("002.png")] == ["422", "ok"]
        result = PageResult.objects.get(page__index=2)
        assert (result.status, result.attempts) == (PageResult.Status.SUCCEEDED, 2)
        tab.assert_no_errors()

        # A phone: swiping right in a right-to-left chapter brings the next page.
        phone = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            storage_state=context.storage_state(),
        )
        mobile = Tab(phone, base, "retry-and-swipe")
        mobile.goto("/read/blue-sky/1/?page=1")  # the position saved above is page 2
        assert current_page(mobile) == 1
        swipe(mobile.page, from_x=60, to_x=330)
        assert current_page(mobile) == 2
        mobile.shot("04-phone-after-swipe")
        swipe(mobile.page, from_x=330, to_x=60)
        assert current_page(mobile) == 1
        mobile.assert_no_errors()
        phone.close()
        context.close()


def swipe(page, *, from_x: int, to_x: int, y: int = 400) -> None:
    """A real touch gesture through the DevTools protocol (Playwright has no swipe)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": from_x, "y": y}]})
    for step in range(1, 6):
        x = from_x + (to_x - from_x) * step / 5
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(100)
