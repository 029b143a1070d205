"""What a worker records per page (services/execution.py): counters live, the result's fields, the events' payloads."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings
from django.utils import timezone

from translations import storage
from translations.models import JobEvent, Page, PageResult, TranslationJob
from translations.services import execution
from translations.services.execution import RunEnd, job_run, job_slice_seconds
from translations.services.jobs import chapter_request_translation, page_retry
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db

Status = TranslationJob.Status


def new_job(pages: int) -> TranslationJob:
    return chapter_request_translation(chapter=make_chapter(pages), translator="test", enqueue=False)


def payloads(job: TranslationJob, kind: str) -> list[dict]:
    return list(JobEvent.objects.filter(job=job, type=kind).order_by("seq").values_list("payload", flat=True))


def test_the_job_counters_follow_each_recorded_page_while_the_job_runs():
    job = new_job(3)
    seen: dict[str, tuple[int, int]] = {}

    def look(work):
        stored = TranslationJob.objects.get(pk=job.pk)
        seen[work.image_name] = (stored.pages_succeeded, stored.pages_failed)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail"}, before=look))

    assert seen == {"001.png": (0, 0), "002.png": (0, 1), "003.png": (1, 1)}


def test_the_fallback_model_is_recorded_on_the_result_of_a_page_that_still_succeeds():
    job = new_job(2)

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fallback"}))

    results = {r.page.index: r for r in job.page_results.select_related("page")}
    assert (results[1].status, results[1].fallback_used) == ("succeeded", False)
    assert (results[2].status, results[2].fallback_used) == ("succeeded", True)


def test_the_result_keeps_the_report_timings_models_and_the_page_time():
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    result = job.page_results.get()
    assert result.regions == [
        {
            "id": 1,
            "box": [0, 0, 5, 5],
            "source_text": "原文",
            "translation": "line of page 1",
            "flags": [],
            "font_size": None,
            "confidence": None,
            "letter_box": None,
        }
    ]
    assert result.models_used == {"detector": "scripted"}
    assert set(result.timings) == {"detect", "page_total"}
    assert result.timings["detect"] == 1
    assert result.timings["page_total"] >= 0
    assert (result.failure_stage, result.error, result.finished_at is not None) == ("", "", True)


def test_the_page_time_is_the_milliseconds_the_page_took():
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor(before=lambda work: time.sleep(0.05)))

    page_total = job.page_results.get().timings["page_total"]
    assert 50 <= page_total < 60_000
    (succeeded,) = payloads(job, "page.succeeded")
    assert 50 <= succeeded["elapsed_ms"] < 60_000


def test_transport_numbers_add_up_over_the_tries_of_a_page_and_into_the_job():
    job = new_job(2)
    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "costly", 2: "costly"}))
    page_retry(page_result=job.page_results.get(page__index=2))

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "costly"}))

    twice = job.page_results.get(page__index=2)
    assert (twice.request_bytes, twice.response_bytes, twice.remote_elapsed_ms, twice.translate_elapsed_ms) == (
        400,
        40,
        4,
        8,
    )
    job.refresh_from_db()
    assert (job.request_bytes_total, job.response_bytes_total) == (500, 50)
    assert (job.remote_elapsed_ms_total, job.translate_elapsed_ms_total) == (5, 10)
    assert job.transport_ratio == 0.5


def test_the_output_takes_the_extension_of_the_format_the_executor_gave():
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "jpeg"}))

    result = job.page_results.get()
    assert result.output_path == f"output/blue-sky/1/{job.pk}/001.jpg"
    assert storage.resolve_path(result.output_path).is_file()


def test_a_retried_page_in_another_format_leaves_no_stale_file():
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    first = storage.resolve_path(job.page_results.get().output_path)
    page_retry(page_result=job.page_results.get())

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "jpeg"}))

    assert not first.exists()
    assert storage.resolve_path(job.page_results.get().output_path).suffix == ".jpg"


@pytest.mark.parametrize(
    ("step", "status", "stage", "error"),
    [
        ("unchanged", "failed", "inpaint", "nothing on the page was erased or lettered"),
        ("empty", "failed", "encode", "the pipeline returned no image"),
        ("cleaning", "succeeded", "", ""),
        ("sfx", "no_text", "", ""),
        ("fallback", "succeeded", "", ""),
    ],
)
def test_the_page_verdict(step, status, stage, error):
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: step}))

    result = job.page_results.get()
    assert (result.status, result.failure_stage, result.error) == (status, stage, error)
    assert bool(result.output_path) is (status == "succeeded")


def test_a_page_whose_file_is_gone_fails_at_load_without_calling_the_executor():
    job = new_job(2)
    storage.delete(job.page_results.get(page__index=1).page.image)
    executor = ScriptedExecutor()

    job_run(job_id=job.pk, executor=executor)

    failed = job.page_results.get(page__index=1)
    assert (failed.status, failed.failure_stage) == ("failed", "load")
    assert failed.error.startswith("the original page file cannot be read: ")
    assert [work.image_name for work in executor.seen] == ["002.png"]


def test_a_page_whose_stored_path_the_storage_refuses_fails_at_load_and_the_job_goes_on():
    job = new_job(2)
    Page.objects.filter(pk=job.page_results.get(page__index=1).page_id).update(image="../elsewhere/001.png")

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    failed = job.page_results.get(page__index=1)
    assert (failed.status, failed.failure_stage) == ("failed", "load")
    assert failed.error == "the original page file cannot be read: refusing path '../elsewhere/001.png'"
    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == (Status.PARTIAL, 1, 1)


def test_an_output_folder_that_leads_out_of_the_data_directory_fails_the_page_at_store(data_dir, tmp_path):
    job = new_job(1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (data_dir / "output").mkdir()
    (data_dir / "output" / "blue-sky").symlink_to(elsewhere)  # an operator's link to another disk, say

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    result = job.page_results.get()
    assert (result.status, result.failure_stage, result.output_path) == ("failed", "store", "")
    assert result.error == f"cannot write the output: refusing path 'output/blue-sky/1/{job.pk}/001.png'"
    assert list(elsewhere.iterdir()) == []


def test_an_output_that_cannot_be_written_fails_the_page_at_store(monkeypatch):
    job = new_job(1)

    def refuse(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "write_atomic", refuse)
    job_run(job_id=job.pk, executor=ScriptedExecutor())

    result = job.page_results.get()
    assert (result.status, result.failure_stage, result.error, result.output_path) == (
        "failed",
        "store",
        "cannot write the output: disk full",
        "",
    )
    (failed,) = payloads(job, "page.failed")
    assert failed["failure_stage"] == "store"


def test_the_events_of_a_page_carry_its_result_index_try_and_outcome():
    job = new_job(2)

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))

    ids = dict(job.page_results.values_list("page__index", "pk"))
    assert payloads(job, "job.started") == [
        {"pages_total": 2, "translator": "test", "backend": "local", "target_language": "en"}
    ]
    assert payloads(job, "page.started") == [
        {"page_result": ids[1], "page": 1, "attempt": 1},
        {"page_result": ids[2], "page": 2, "attempt": 1},
    ]
    assert payloads(job, "page.stage")[0] == {"page_result": ids[1], "page": 1, "stage": "pipeline"}
    (succeeded,) = payloads(job, "page.succeeded")
    assert succeeded["page_result"] == ids[1]
    assert (succeeded["page"], succeeded["status"], succeeded["regions"]) == (1, "succeeded", 1)
    assert succeeded["output_path"] == f"output/blue-sky/1/{job.pk}/001.png"
    assert succeeded["elapsed_ms"] >= 0
    assert payloads(job, "page.failed") == [
        {"page_result": ids[2], "page": 2, "failure_stage": "detect", "error": "page 2 cannot be read", "attempt": 1}
    ]


def test_a_page_without_text_is_announced_as_such_with_no_output():
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "no_text"}))

    (done,) = payloads(job, "page.succeeded")
    assert (done["status"], done["regions"], done["output_path"]) == ("no_text", 0, "")


def test_a_retried_page_is_claimed_as_its_next_try():
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail"}))
    page_retry(page_result=job.page_results.get())

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    assert [p["attempt"] for p in payloads(job, "page.started")] == [1, 2]
    result = job.page_results.get()
    assert (result.attempts, result.status, result.failure_stage, result.error) == (2, "succeeded", "", "")


def test_a_successful_job_has_no_error_and_a_finish_time():
    job = new_job(1)

    assert job_run(job_id=job.pk, executor=ScriptedExecutor()) == RunEnd.FINISHED

    job.refresh_from_db()
    assert (job.status, job.error) == (Status.SUCCESS, "")
    assert job.finished_at is not None
    assert job.started_at is not None


def test_a_running_page_gets_a_lease_that_the_record_clears():
    job = new_job(1)
    leases = []

    def look(work):
        leases.append(PageResult.objects.get(job=job).lease_expires_at)

    job_run(job_id=job.pk, executor=ScriptedExecutor(before=look))

    assert leases[0] is not None
    assert job.page_results.get().lease_expires_at is None


@pytest.mark.django_db(transaction=True)  # the heartbeat writes from its own thread, as in a worker
def test_a_page_that_takes_longer_than_its_lease_keeps_it_renewed_while_it_runs(settings):
    # A lease that ran out is how the sweeper tells a dead worker: a slow page must never look like one.
    settings.MANGA_PAGE_LEASE_SEC = 1.5
    job = new_job(1)
    expired: list[bool] = []

    def slow_page(work):
        for _ in range(5):  # 2.5 s, well past the lease
            time.sleep(0.5)
            lease = PageResult.objects.get(job=job).lease_expires_at
            expired.append(lease is None or lease <= timezone.now())

    job_run(job_id=job.pk, executor=ScriptedExecutor(before=slow_page))

    assert expired == [False] * 5
    assert job.page_results.get().status == "succeeded"


@override_settings(Q_CLUSTER={"timeout": 90})
def test_a_task_takes_pages_for_a_third_of_the_queue_timeout():
    assert job_slice_seconds() == 30


def test_a_job_run_keeps_taking_pages_within_its_time_slice(monkeypatch):
    job = new_job(3)
    monkeypatch.setattr(execution, "job_enqueue", lambda job_id: pytest.fail("sliced too early"))

    assert job_run(job_id=job.pk, executor=ScriptedExecutor(), slice_seconds=60) == RunEnd.FINISHED
