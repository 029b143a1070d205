"""Jobs over the API: create (201 / 409 / 429), detail with per-page results, retry, cancel, events, page reports."""

from __future__ import annotations

import pytest

from translations import storage
from translations.models import AuditEntry, JobEvent, Manga, PageResult, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db


def finished_job(script: dict[int, str] | None = None, pages: int = 3, **chapter) -> TranslationJob:
    job = chapter_request_translation(chapter=make_chapter(pages, **chapter), translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor(script or {}))
    job.refresh_from_db()
    return job


def test_staff_create_a_job_and_get_it_with_its_websocket_url(staff_client, staff):
    chapter = make_chapter(2)

    response = staff_client.post(
        "/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test", "target_language": "fr"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    job = TranslationJob.objects.get()
    assert body["id"] == job.pk
    assert body["status"] == "queued"
    assert (body["translator"], body["target_language"], body["pages_total"]) == ("test", "fr", 2)
    assert body["websocket_url"] == f"ws://testserver/ws/jobs/{job.pk}/"
    assert body["events_url"] == f"/api/v1/jobs/{job.pk}/events/"
    assert body["last_event_seq"] == 1
    assert job.requested_by == staff
    assert job.page_results.count() == 2
    assert AuditEntry.objects.filter(action="job.request", actor=staff, object_id=str(job.pk)).exists()


def test_a_second_job_for_a_busy_chapter_is_refused_with_the_active_jobs_id(staff_client):
    chapter = make_chapter(1)
    first = staff_client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json").json()

    response = staff_client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "job_conflict"
    assert error["details"] == {"active_job": first["id"]}
    assert TranslationJob.objects.count() == 1


def test_a_full_queue_answers_429_with_retry_after_and_creates_nothing(staff_client, settings):
    settings.MANGA_QUEUE_MAX_ACTIVE_JOBS = 1
    settings.MANGA_API_QUEUE_RETRY_AFTER_SEC = 45
    staff_client.post("/api/v1/jobs/", {"chapter": make_chapter(1).pk, "translator": "test"}, format="json")
    other = make_chapter(1, slug="other")

    response = staff_client.post("/api/v1/jobs/", {"chapter": other.pk, "translator": "test"}, format="json")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "45"
    assert response.json()["error"] == {
        "code": "queue_full",
        "message": "The queue is full (1 jobs queued or running); try again later.",
        "details": {"retry_after": 45},
    }
    assert not other.jobs.exists()


def test_bad_job_requests_name_the_field(staff_client):
    chapter = make_chapter(1)

    response = staff_client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "babelfish"}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]["fields"]) == ["translator"]
    assert not TranslationJob.objects.exists()


def test_a_job_for_a_missing_chapter_is_404(staff_client):
    response = staff_client.post("/api/v1/jobs/", {"chapter": 999999, "translator": "test"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_readers_may_not_create_jobs(reader_client):
    chapter = make_chapter(1)

    response = reader_client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "staff_required"
    assert not TranslationJob.objects.exists()


def test_job_detail_has_every_pages_result(reader_client):
    job = finished_job({2: "fail"})

    body = reader_client.get(f"/api/v1/jobs/{job.pk}/").json()

    assert body["status"] == "partial"
    assert (body["pages_total"], body["pages_succeeded"], body["pages_failed"]) == (3, 2, 1)
    pages = body["pages"]
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert pages[1] | {"timings": None} == pages[1] | {
        "status": "failed",
        "attempts": 1,
        "failure_stage": "detect",
        "error": "page 2 cannot be read",
        "image_url": None,
        "timings": None,
    }
    assert pages[0]["status"] == "succeeded"
    assert pages[0]["models_used"] == {"detector": "scripted"}
    assert pages[0]["timings"]["detect"] == 1
    assert pages[0]["image_url"] == f"/api/v1/jobs/{job.pk}/pages/1/image/"


def test_the_page_report_has_regions_translations_and_flags(reader_client):
    job = finished_job({2: "untranslated"})

    report = reader_client.get(f"/api/v1/jobs/{job.pk}/pages/1/").json()

    assert report["job"] == job.pk
    assert report["regions"] == [
        {
            "id": 1,
            "box": [0, 0, 5, 5],
            "source_text": "原文",
            "translation": "line of page 1",
            "flags": [],
            "font_size": None,
            "confidence": None,
        }
    ]
    missing = reader_client.get(f"/api/v1/jobs/{job.pk}/pages/9/")
    assert missing.status_code == 404


def test_the_translated_image_is_the_stored_output(reader_client):
    job = finished_job({2: "fail"})
    result = job.page_results.get(page__index=1)

    response = reader_client.get(f"/api/v1/jobs/{job.pk}/pages/1/image/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == storage.resolve_path(result.output_path).read_bytes()
    failed = reader_client.get(f"/api/v1/jobs/{job.pk}/pages/2/image/")
    assert failed.status_code == 404
    assert failed.json()["error"]["code"] == "not_found"


def test_retry_failed_queues_only_the_failed_pages(staff_client, staff):
    job = finished_job({2: "fail"})

    response = staff_client.post(f"/api/v1/jobs/{job.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["pages_queued"] == 1
    assert response.json()["job"]["status"] == "queued"
    statuses = dict(job.page_results.values_list("page__index", "status"))
    assert statuses == {1: "succeeded", 2: "pending", 3: "succeeded"}
    assert AuditEntry.objects.filter(action="job.retry_failed", actor=staff).exists()


def test_retry_failed_without_failed_pages_is_refused(staff_client):
    job = finished_job()

    response = staff_client.post(f"/api/v1/jobs/{job.pk}/retry/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "job_refused"
    assert job.page_results.filter(status="pending").count() == 0


def test_retry_one_page(staff_client):
    job = finished_job()

    response = staff_client.post(f"/api/v1/jobs/{job.pk}/pages/3/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    job.refresh_from_db()
    assert job.status == "queued"
    assert job.page_results.get(page__index=3).status == PageResult.Status.PENDING


def test_cancel_a_queued_job_then_again(staff_client):
    job = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)

    response = staff_client.post(f"/api/v1/jobs/{job.pk}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert set(job.page_results.values_list("status", flat=True)) == {"cancelled"}
    again = staff_client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"


def test_events_after_a_sequence_number(reader_client):
    job = finished_job(pages=2)
    total = JobEvent.objects.filter(job=job).count()

    everything = reader_client.get(f"/api/v1/jobs/{job.pk}/events/").json()
    later = reader_client.get(f"/api/v1/jobs/{job.pk}/events/?after=3").json()

    assert [e["seq"] for e in everything["events"]] == list(range(1, total + 1))
    assert everything["last_seq"] == total
    assert everything["more"] is False
    assert everything["events"][-1]["type"] == "job.finished"
    assert [e["seq"] for e in later["events"]] == list(range(4, total + 1))
    nothing = reader_client.get(f"/api/v1/jobs/{job.pk}/events/?after={total}").json()
    assert nothing == {"events": [], "last_seq": total, "more": False}
    bad = reader_client.get(f"/api/v1/jobs/{job.pk}/events/?after=soon")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_filter"


def test_jobs_of_a_private_manga_do_not_exist_for_readers(reader_client, staff_client):
    job = finished_job(slug="secret")
    Manga.objects.filter(slug="secret").update(private=True)

    for path in (f"/api/v1/jobs/{job.pk}/", f"/api/v1/jobs/{job.pk}/events/", f"/api/v1/jobs/{job.pk}/pages/1/"):
        assert reader_client.get(path).status_code == 404, path
        assert staff_client.get(path).status_code == 200, path
    assert reader_client.get("/api/v1/jobs/").json()["results"] == []
    assert reader_client.get(f"/api/v1/jobs/{job.pk}/pages/1/image/").status_code == 404


def test_jobs_list_filters(reader_client):
    done = finished_job()
    queued = chapter_request_translation(chapter=make_chapter(1, slug="other"), translator="test", enqueue=False)

    everything = reader_client.get("/api/v1/jobs/").json()["results"]
    only_queued = reader_client.get("/api/v1/jobs/?status=queued").json()["results"]
    by_chapter = reader_client.get(f"/api/v1/jobs/?chapter={done.chapter_id}").json()["results"]

    assert [j["id"] for j in everything] == [queued.pk, done.pk]
    assert [j["id"] for j in only_queued] == [queued.pk]
    assert [j["id"] for j in by_chapter] == [done.pk]
    assert reader_client.get("/api/v1/jobs/?status=lost").json()["error"]["code"] == "invalid_filter"
