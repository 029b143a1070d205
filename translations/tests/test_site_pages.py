"""The reader site's pages as served: library, manga page, reader, staff page result, first-run setup, exports."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from translations import storage
from translations.models import Chapter, JobEvent, Manga, PageResult, ReadingPosition, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import make_chapter, make_staff
from translations.tests.site_helpers import make_reader, translated_chapter

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    user = make_reader()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def staff(client):
    client.force_login(make_staff())
    return client


def text(response) -> str:
    return response.content.decode()


# --- Library -------------------------------------------------------------------------------


def test_the_library_lists_manga_with_covers_and_finds_them_by_title(reader):
    translated_chapter(1, slug="blue-sky")
    make_chapter(1, slug="red-moon", language="ko")

    everything = text(reader.get("/"))
    found = text(reader.get("/?q=moon"))

    assert "Blue-Sky" in everything and "Red-Moon" in everything
    assert reverse("manga-cover", args=[Manga.objects.get(slug="blue-sky").pk]) in everything
    assert "Red-Moon" in found and "Blue-Sky" not in found
    assert "1 manga found" in found


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("source=ko", ["Red-Moon"]),
        ("source=ja", ["Blue-Sky", "Green-Sea"]),
        ("state=translated", ["Blue-Sky"]),
        ("state=failed", ["Green-Sea"]),
        ("state=untranslated", ["Red-Moon"]),
        ("target=en&state=translated", ["Blue-Sky"]),
        ("target=fr", []),
    ],
)
def test_the_library_filters_by_language_and_translation_state(reader, query, shown):
    translated_chapter(1, slug="blue-sky")
    translated_chapter(1, slug="green-sea", script={1: "fail"})
    make_chapter(1, slug="red-moon", language="ko")

    page = text(reader.get(f"/?{query}"))

    assert [title for title in ("Blue-Sky", "Green-Sea", "Red-Moon") if title in page] == shown


def test_the_library_shows_continue_reading_and_recently_updated(reader):
    chapter, _ = translated_chapter(3)
    ReadingPosition.objects.create(user=reader.user, manga=chapter.manga, chapter=chapter, page=2)

    page = text(reader.get("/"))

    assert "Continue reading" in page and "Chapter 1, page 2" in page
    assert f"{reverse('reader', args=['blue-sky', '1'])}?page=2" in page
    assert "Recently updated" in page


def test_an_empty_library_says_how_to_add_a_chapter(reader, client):
    assert "import_chapter" in text(reader.get("/"))
    assert "Add a chapter of a new manga" not in text(reader.get("/"))
    client.force_login(make_staff())
    page = text(client.get("/"))
    assert "The library is empty." in page
    assert "Add a chapter of a new manga" in page


def test_private_manga_are_listed_for_staff_only(reader):
    translated_chapter(1)
    Manga.objects.update(private=True)
    assert "Blue-Sky" not in text(reader.get("/"))
    staff = Client()
    staff.force_login(make_staff())
    assert "Blue-Sky" in text(staff.get("/"))


# --- Manga page ------------------------------------------------------------------------------


def test_the_manga_page_shows_each_chapters_latest_job_with_its_counts(reader):
    translated_chapter(3, script={2: "fail", 3: "no_text"})

    page = text(reader.get("/manga/blue-sky/"))

    assert "Translated, some pages failed" in page
    assert "1/3, no text 1, failed 1" in page
    assert reverse("job-cbz", args=[TranslationJob.objects.get().pk]) in page
    assert "Translate</button>" not in page  # staff only


def test_a_cleaning_job_is_shown_as_cleaning_never_as_a_translation(staff):
    chapter = make_chapter(1)
    chapter_request_translation(chapter=chapter, translator="none", enqueue=False)

    page = text(staff.get("/manga/blue-sky/"))

    assert "cleaning mode" in page and "Cleaning queued" in page
    assert "Translated" not in page.split("<tbody>")[1].split("</tbody>")[0]


def test_a_running_job_shows_its_progress_bar_and_current_stage(staff):
    _, job = translated_chapter(2)
    PageResult.objects.filter(job=job, page__index=2).update(status=PageResult.Status.RUNNING)
    TranslationJob.objects.filter(pk=job.pk).update(status=TranslationJob.Status.RUNNING)
    JobEvent.objects.create(
        job=job, seq=99, type="page.stage", payload={"page_result": 2, "page": 2, "stage": "remote"}
    )

    page = text(staff.get("/manga/blue-sky/"))

    assert 'data-active="1"' in page
    assert '<progress class="job-progress" max="100" value="50"' in page
    assert "page 2: remote" in page
    assert reverse("job-cancel", args=[job.pk]) in page


# --- Reader --------------------------------------------------------------------------------


def reader_data(response) -> dict:
    html = text(response)
    start = html.index('<script id="reader-data" type="application/json">') + len(
        '<script id="reader-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_reader_shows_each_page_with_its_state(reader):
    _, job = translated_chapter(3, script={2: "fail", 3: "no_text"})

    data = reader_data(reader.get("/read/blue-sky/1/"))

    assert [page["state"] for page in data["pages"]] == ["translated", "failed", "no_text"]
    first = data["pages"][0]
    assert first["out"].startswith(reverse("result-image", args=[job.page_results.get(page__index=1).pk]))
    assert data["pages"][1]["error"] == "page 2 cannot be read"
    assert data["pages"][2]["out"] == ""
    assert (data["mode"], data["direction"]) == ("paged", "rtl")
    assert data["job"]["seq"] == TranslationJob.objects.get().last_event_seq


def test_staff_without_the_job_permission_watch_the_jobs_they_started_and_no_others(client):
    chapter = make_chapter(2)
    own = make_staff("own", permissions=())
    other = make_staff("other", permissions=())
    job = chapter_request_translation(chapter=chapter, translator="test", requested_by=own)
    assert job.status in TranslationJob.ACTIVE

    client.force_login(own)
    assert reader_data(client.get("/read/blue-sky/1/"))["job"]["active"] is True
    client.force_login(other)
    assert reader_data(client.get("/read/blue-sky/1/"))["job"]["active"] is False  # the socket would refuse


def test_a_page_whose_output_file_is_missing_is_shown_as_failed_not_as_a_broken_image(reader):
    chapter, job = translated_chapter(2)
    storage.resolve_path(job.page_results.get(page__index=2).output_path).unlink()

    response = reader.get("/read/blue-sky/1/")

    page = reader_data(response)["pages"][1]
    assert (page["state"], page["out"]) == ("failed", "")
    assert "missing from storage" in page["error"]
    assert reverse("page-image", args=[chapter.pages.get(index=2).pk]) in text(response)


def test_the_reader_picks_the_translation_by_lang_and_korean_reads_as_a_strip(reader):
    chapter = make_chapter(2, slug="red-moon", language="ko")
    en = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    TranslationJob.objects.filter(pk=en.pk).update(status=TranslationJob.Status.CANCELLED)
    fr = chapter_request_translation(chapter=chapter, translator="test", target_language="fr", enqueue=False)

    default = reader_data(reader.get("/read/red-moon/1/"))
    french = reader_data(reader.get("/read/red-moon/1/?lang=fr"))

    assert default["job"]["id"] == en.pk
    assert french["job"]["id"] == fr.pk
    assert (default["mode"], default["direction"]) == ("strip", "ltr")


def test_the_reader_links_the_previous_and_next_chapters(reader):
    make_chapter(1, number="1")
    make_chapter(1, number="2.5")
    make_chapter(1, number="3")

    page = text(reader.get("/read/blue-sky/2.5/"))

    assert 'href="/read/blue-sky/1/" rel="prev"' in page
    assert 'href="/read/blue-sky/3/" rel="next"' in page


def test_the_position_is_saved_and_the_reader_opens_there(reader):
    translated_chapter(3)
    url = reverse("reader-position", args=["blue-sky", "1"])

    saved = reader.post(url, {"page": 3, "mode": "strip", "direction": "ltr"}, content_type="application/json")
    bad = reader.post(url, {"page": 9, "mode": "strip", "direction": "ltr"}, content_type="application/json")

    assert saved.json() == {"page": 3, "mode": "strip", "direction": "ltr"}
    assert (bad.status_code, bad.json()["error"]) == (400, "Chapter 1 has no page 9.")
    data = reader_data(reader.get("/read/blue-sky/1/"))
    assert (data["start"], data["mode"], data["direction"]) == (3, "strip", "ltr")
    assert reader_data(reader.get("/read/blue-sky/1/?page=2"))["start"] == 2
    assert "Continue: chapter 1, page 3" in text(reader.get("/manga/blue-sky/"))


# --- Staff page result ---------------------------------------------------------------------


def test_the_page_result_view_shows_output_overlay_and_regions(staff):
    _, job = translated_chapter(1)
    result = job.page_results.get()
    PageResult.objects.filter(pk=result.pk).update(
        regions=[
            {
                "id": 1,
                "box": [10, 20, 30, 40],
                "source_text": "原文",
                "translation": "Hello",
                "flags": [],
                "font_size": 18,
            },
            {"id": 2, "box": [50, 5, 8, 8], "source_text": "ドン", "translation": None, "flags": ["sfx"]},
        ]
    )

    page = text(staff.get(reverse("page-result", args=[result.pk])))

    assert reverse("result-image", args=[result.pk]) in page
    assert '<rect class="" x="10" y="20" width="30" height="40">' in page
    assert '<rect class="sfx" x="50" y="5" width="8" height="8">' in page
    assert "<td>原文</td>" in page.replace(' lang="ja"', "") and "Hello" in page and "<td>18</td>" in page
    assert reverse("admin:translations_pageresult_change", args=[result.pk]) in page


def test_the_admin_links_a_page_result_to_its_view(client):
    _, job = translated_chapter(1)
    result = job.page_results.get()
    client.force_login(get_user_model().objects.create_superuser("admin", password="a password"))
    page = text(client.get(reverse("admin:translations_pageresult_change", args=[result.pk])))
    assert reverse("page-result", args=[result.pk]) in page


# --- Setup and sign-in ----------------------------------------------------------------------------


def test_setup_makes_the_first_staff_account_signs_in_and_is_gone_after(client):
    form = {"username": "boss", "password1": "a long enough password 42", "password2": "a long enough password 42"}

    assert client.get("/setup").status_code == 200
    response = client.post("/setup", form)

    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get()
    assert (user.username, user.is_staff, user.is_superuser) == ("boss", True, True)
    assert client.get("/").context["user"] == user
    assert client.get("/setup").status_code == 404
    assert Client().post("/setup", {**form, "username": "second"}).status_code == 404
    assert get_user_model().objects.count() == 1


def test_setup_refuses_a_weak_or_mismatched_password_and_makes_nothing(client):
    weak = client.post("/setup", {"username": "boss", "password1": "123", "password2": "123"})
    mismatch = client.post("/setup", {"username": "boss", "password1": "a long password 1", "password2": "other 2"})

    assert weak.status_code == 200 and "too short" in text(weak)
    assert "didn’t match" in text(mismatch) or "didn't match" in text(mismatch)
    assert not get_user_model().objects.exists()


def test_sign_in_and_out(client):
    make_reader()
    response = client.post("/accounts/login/", {"username": "reader", "password": "a password"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


# --- Exports ---------------------------------------------------------------------------------------


def test_the_cbz_download_streams_the_export_with_its_file_name(reader):
    _, job = translated_chapter(2)

    response = reader.get(reverse("job-cbz", args=[job.pk]))

    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="blue-sky-ch1-en.cbz"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["ComicInfo.xml", "001.png", "002.png"]


def test_the_script_downloads_as_text_and_json(reader):
    _, job = translated_chapter(1)

    as_text = reader.get(reverse("job-script-text", args=[job.pk]))
    as_json = reader.get(reverse("job-script-json", args=[job.pk]))

    assert as_text["Content-Type"] == "text/plain; charset=utf-8"
    assert "== Page 1 ==\n[1] 原文\n    → line of page 1" in as_text.content.decode()
    assert as_json.json()["pages"][0]["regions"][0]["translation"] == "line of page 1"
    assert as_json["Content-Disposition"] == 'attachment; filename="blue-sky-ch1-en.script.json"'


def test_chapter_numbers_in_urls_match_the_stored_decimal(reader):
    manga = Manga.objects.create(slug="x", title="X")
    Chapter.objects.create(manga=manga, number=Decimal("10.50"))
    assert reader.get("/read/x/10.5/").status_code == 200
    assert reader.get("/read/x/10.50/").status_code == 200
    assert reader.get("/read/x/10.51/").status_code == 404


def test_a_long_chapter_list_is_shown_a_hundred_at_a_time_in_order(reader):
    manga = Manga.objects.create(slug="long", title="Long")
    Chapter.objects.bulk_create(Chapter(manga=manga, number=Decimal(n)) for n in range(1, 151))

    first = text(reader.get("/manga/long/"))
    second = text(reader.get("/manga/long/?page=2"))

    assert first.count('<tr data-chapter="') == 100 and '<tr data-chapter="100">' in first
    assert second.count('<tr data-chapter="') == 50 and '<tr data-chapter="101">' in second
    assert "Page 2 of 2" in second


def test_recently_updated_follows_new_chapters_and_finished_jobs(reader):
    old, _ = translated_chapter(1, slug="old-one")
    make_chapter(1, slug="new-one")
    assert text(reader.get("/?sort=updated")).index("New-One") < text(reader.get("/?sort=updated")).index("Old-One")

    chapter_request_translation(chapter=old, translator="test", target_language="fr", enqueue=False)

    page = text(reader.get("/?sort=updated"))
    assert page.index("Old-One") < page.index("New-One")
