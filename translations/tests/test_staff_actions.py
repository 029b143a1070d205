"""Staff actions from the reader site: translate, retry, cancel, upload, delete — outcomes as messages or JSON."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from translations.models import AuditEntry, Chapter, Manga, PageResult, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import make_chapter, make_staff, page_image
from translations.tests.site_helpers import translated_chapter

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def staff(client):
    client.force_login(make_staff())
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def files_under(data_dir) -> set[str]:
    return {str(path.relative_to(data_dir)) for path in data_dir.rglob("*") if path.is_file()}


def test_translate_queues_a_job_with_the_chosen_language_and_translator(staff):
    make_chapter(2)

    response = staff.post("/manga/blue-sky/1/translate", {"target_language": "fr", "translator": "test"})

    job = TranslationJob.objects.get()
    assert (job.target_language, job.translator, job.pages_total) == ("fr", "test", 2)
    assert response["Location"] == "/manga/blue-sky/"
    assert messages_of(response) == [f"Chapter 1 queued for translation (job {job.pk})."]
    assert AuditEntry.objects.filter(action="job.request").exists()


def test_translate_while_a_job_is_active_is_a_409_message_not_an_error_page(staff):
    chapter = make_chapter(1)
    active = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    form = {"target_language": "en", "translator": "test"}

    page = staff.post("/manga/blue-sky/1/translate", form, follow=True)
    answer = staff.post("/manga/blue-sky/1/translate", form, **JSON)

    assert page.status_code == 200
    assert f"already has an active job ({active.pk}, queued)" in page.content.decode()
    assert answer.status_code == 409
    assert answer.json()["ok"] is False and "already has an active job" in answer.json()["message"]
    assert TranslationJob.objects.count() == 1


def test_translate_refuses_an_unknown_translator(staff):
    make_chapter(1)
    answer = staff.post("/manga/blue-sky/1/translate", {"target_language": "en", "translator": "magic"}, **JSON)
    assert answer.status_code == 400 and "translator" in answer.json()["message"]
    assert not TranslationJob.objects.exists()


def test_retry_failed_and_retry_one_page_queue_the_pages_again(staff):
    _, job = translated_chapter(3, script={2: "fail", 3: "fail"})

    one = staff.post(reverse("result-retry", args=[job.page_results.get(page__index=2).pk]), **JSON)
    rest = staff.post(reverse("job-retry-failed", args=[job.pk]), **JSON)

    assert one.json() == {"ok": True, "message": "Page 2 queued again."}
    assert rest.status_code == 400 and "still queued" in rest.json()["message"]
    statuses = dict(job.page_results.values_list("page__index", "status"))
    assert statuses == {1: "succeeded", 2: "pending", 3: "failed"}


def test_retry_failed_of_a_finished_job(staff):
    _, job = translated_chapter(2, script={2: "fail"})
    response = staff.post(reverse("job-retry-failed", args=[job.pk]))
    assert messages_of(response) == ["1 failed page(s) of chapter 1 queued again."]
    assert job.page_results.get(page__index=2).status == PageResult.Status.PENDING


def test_cancel_stops_an_active_job_and_says_so_for_a_finished_one(staff):
    job = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)

    first = staff.post(reverse("job-cancel", args=[job.pk]), **JSON)
    again = staff.post(reverse("job-cancel", args=[job.pk]), **JSON)

    assert first.json()["ok"] is True
    assert (again.status_code, again.json()["message"]) == (409, f"Job {job.pk} had already finished.")
    job.refresh_from_db()
    assert job.status == TranslationJob.Status.CANCELLED


def cbz(name: str, files: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry, data in files.items():
            archive.writestr(entry, data)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_an_upload_of_images_adds_the_chapter(staff, data_dir):
    Manga.objects.create(slug="blue-sky", title="Blue Sky")
    files = [SimpleUploadedFile(f"{i}.png", page_image(i)) for i in (2, 1)]

    response = staff.post("/manga/blue-sky/upload", {"number": "4", "title": "Rain", "files": files})

    chapter = Chapter.objects.get()
    assert (chapter.slug, chapter.title, chapter.pages.count()) == ("4", "Rain", 2)
    assert messages_of(response) == ["Chapter 4 uploaded with 2 pages."]
    assert (data_dir / "raw/blue-sky/4/001.png").read_bytes() == page_image(1)


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (
            lambda: [SimpleUploadedFile("1.png", page_image(1)), SimpleUploadedFile("notes.txt", b"hi")],
            "notes.txt: not an image",
        ),
        (lambda: [cbz("evil.cbz", {"1.png": page_image(1), "../x.png": page_image(2)})], "evil.cbz: The archive entry"),
        (
            lambda: [cbz("bomb.cbz", {"1.png": page_image(1), "2.png": b"\0" * 20_000_000})],
            "bomb.cbz: 2.png would expand",
        ),
    ],
    ids=["non-image", "traversal", "bomb"],
)
def test_a_refused_upload_is_a_form_error_naming_the_file_and_writes_nothing(staff, data_dir, files, error):
    Manga.objects.create(slug="blue-sky", title="Blue Sky")

    page = staff.post("/manga/blue-sky/upload", {"number": "1", "files": files()})
    answer = staff.post("/manga/blue-sky/upload", {"number": "1", "files": files()}, **JSON)

    assert page.status_code == 400
    assert error in page.content.decode()
    assert answer.status_code == 400 and error in answer.json()["errors"]["files"][0]
    assert files_under(data_dir) == set()
    assert not Chapter.objects.exists()


def test_the_library_upload_makes_the_manga_and_a_refusal_leaves_none(staff):
    form = {"manga_title": "Red Moon", "source_language": "ko", "target_language": "en", "number": "1"}

    refused = staff.post("/upload", {**form, "files": [SimpleUploadedFile("a.txt", b"no")]}, **JSON)
    done = staff.post("/upload", {**form, "files": [SimpleUploadedFile("1.png", page_image(1))]}, **JSON)

    assert refused.status_code == 400 and "a.txt: not an image" in refused.json()["errors"]["files"][0]
    assert done.json()["redirect"] == "/manga/red-moon/"
    manga = Manga.objects.get()
    assert (manga.slug, manga.source_language, manga.chapters.count()) == ("red-moon", "ko", 1)


def test_delete_asks_first_and_then_removes_the_chapter_its_jobs_and_files(
    staff, data_dir, django_capture_on_commit_callbacks
):
    translated_chapter(2)
    assert files_under(data_dir)

    confirm = staff.get("/manga/blue-sky/1/delete")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/manga/blue-sky/1/delete")

    assert "Delete the chapter" in confirm.content.decode()
    assert messages_of(response) == ["Chapter 1 deleted."]
    assert not Chapter.objects.exists() and not TranslationJob.objects.exists()
    assert files_under(data_dir) == set()
    assert AuditEntry.objects.filter(action="chapter.delete").exists()


def test_delete_is_refused_while_a_job_runs(staff):
    job = chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)

    confirm = staff.get("/manga/blue-sky/1/delete")
    response = staff.post("/manga/blue-sky/1/delete", follow=True)

    assert "cancel it or let it finish" in confirm.content.decode()
    assert "Delete the chapter</button>" not in confirm.content.decode()
    assert f"has a queued job ({job.pk}); cancel it or let it finish first." in response.content.decode()
    assert Chapter.objects.exists()
