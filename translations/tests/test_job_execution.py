"""Running a job in the worker (services/execution.py): order, context, the page success rule, counts, races."""

from __future__ import annotations

import signal

import pytest
from django_q.brokers import get_broker

from translations import storage, worker_shutdown
from translations.models import GlossaryTerm, JobEvent, Page, PageResult, TranslationJob
from translations.services.execution import RunEnd, _claim_next_page, _finish_job, job_run, page_execute
from translations.services.jobs import chapter_request_translation, job_cancel, job_retry_failed, page_retry
from translations.tests.job_helpers import ReadingAheadExecutor, ScriptedExecutor, make_chapter
from translations.worker_shutdown import on_stop_signal

pytestmark = pytest.mark.django_db

Status = TranslationJob.Status
PageStatus = PageResult.Status


@pytest.fixture(autouse=True)
def empty_queue():
    broker = get_broker()
    broker.purge_queue()
    yield
    broker.purge_queue()


def new_job(pages: int) -> TranslationJob:
    return chapter_request_translation(chapter=make_chapter(pages), translator="test", enqueue=False)


def statuses(job: TranslationJob) -> dict[int, str]:
    return dict(job.page_results.values_list("page__index", "status"))


def test_pages_run_in_order_each_with_the_last_three_succeeded_pages_as_context():
    job = new_job(6)
    executor = ScriptedExecutor({3: "fail"})

    assert job_run(job_id=job.pk, executor=executor) == RunEnd.FINISHED

    assert [work.image_name for work in executor.seen] == [f"{i:03d}.png" for i in range(1, 7)]
    contexts = {int(work.image_name[:3]): work.context_translations for work in executor.seen}
    assert contexts[1] == ()
    assert contexts[4] == ("line of page 1", "line of page 2")
    assert contexts[6] == ("line of page 2", "line of page 4", "line of page 5")


def test_a_job_where_every_page_succeeded_ends_success_with_its_outputs_stored():
    job = new_job(2)

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed, job.pages_total) == (Status.SUCCESS, 2, 0, 2)
    for result in job.page_results.select_related("page"):
        assert result.output_path == f"output/blue-sky/1/{job.pk}/{result.page.index:03d}.png"
        assert storage.resolve_path(result.output_path).read_bytes().endswith(b"changed")
        assert result.attempts == 1
        assert result.lease_expires_at is None
        assert result.regions[0]["translation"] == f"line of page {result.page.index}"


def test_failed_pages_make_the_job_partial_and_keep_the_others():
    job = new_job(3)

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == (Status.PARTIAL, 2, 1)
    failed = job.page_results.get(page__index=2)
    assert (failed.status, failed.failure_stage, failed.error) == ("failed", "detect", "page 2 cannot be read")
    assert failed.output_path == ""
    assert job.error == "1 of 3 pages failed."


def test_a_job_where_no_page_succeeded_ends_error():
    job = new_job(2)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail", 2: "crash"}))

    job.refresh_from_db()
    assert job.status == Status.ERROR
    crashed = job.page_results.get(page__index=2)
    assert (crashed.failure_stage, crashed.error) == ("internal", "RuntimeError: a bug")


def test_a_page_without_text_is_done_kept_as_the_original_and_counted_apart():
    job = new_job(3)

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "no_text"}))

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed, job.pages_no_text) == (Status.SUCCESS, 2, 0, 1)
    blank = job.page_results.get(page__index=2)
    assert (blank.status, blank.output_path) == ("no_text", "")
    assert not (storage.data_root() / f"output/blue-sky/1/{job.pk}/002.png").exists()


@pytest.mark.parametrize(
    ("step", "stage", "error"),
    [
        ("same", "encode", "the output is a copy of the original page"),
        ("untranslated", "translate", "none of the 1 text regions got a translation (all untranslated)"),
    ],
)
def test_a_page_whose_output_is_not_a_translation_fails(step, stage, error):
    job = new_job(1)

    job_run(job_id=job.pk, executor=ScriptedExecutor({1: step}))

    result = job.page_results.get()
    assert (result.status, result.failure_stage, result.error, result.output_path) == ("failed", stage, error, "")
    assert not storage.resolve_path(f"output/blue-sky/1/{job.pk}/001.png").exists()


def test_a_page_that_fails_on_retry_loses_its_stale_output():
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    old_output = storage.resolve_path(job.page_results.get().output_path)
    assert old_output.exists()
    from translations.services.jobs import page_retry

    page_retry(page_result=job.page_results.get())
    job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail"}))

    result = job.page_results.get()
    assert (result.status, result.output_path, result.attempts) == ("failed", "", 2)
    assert not old_output.exists()


def test_retrying_failed_pages_later_gives_them_their_original_context():
    job = new_job(5)
    job_run(job_id=job.pk, executor=ScriptedExecutor({3: "fail"}))

    job_retry_failed(job=job)
    retry = ScriptedExecutor()
    job_run(job_id=job.pk, executor=retry)

    assert [work.image_name for work in retry.seen] == ["003.png"]
    assert retry.seen[0].context_translations == ("line of page 1", "line of page 2")
    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == (Status.SUCCESS, 5, 0)


def test_a_second_delivery_of_a_finished_job_changes_nothing():
    job = new_job(2)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    events = JobEvent.objects.filter(job=job).count()

    again = ScriptedExecutor()
    assert job_run(job_id=job.pk, executor=again) == RunEnd.INACTIVE

    assert again.seen == []
    assert JobEvent.objects.filter(job=job).count() == events
    job.refresh_from_db()
    assert (job.pages_succeeded, job.pages_total) == (2, 2)


def test_a_task_finding_a_page_of_its_job_running_leaves_the_job_to_that_task():
    job = new_job(2)
    claim = _claim_next_page(job.pk)
    assert claim.page.index == 1

    other = ScriptedExecutor()
    assert job_run(job_id=job.pk, executor=other) == RunEnd.BUSY
    assert other.seen == []


def test_a_worker_whose_claim_was_taken_over_records_nothing_and_removes_its_file():
    job = new_job(1)
    stale = _claim_next_page(job.pk)
    # The sweeper gave the page to another worker (attempt 2) while this one was still busy.
    PageResult.objects.filter(pk=stale.pk).update(status=PageStatus.PENDING)
    fresh = _claim_next_page(job.pk)
    assert fresh.attempts == 2

    page_execute(result=stale, executor=ScriptedExecutor())

    result = PageResult.objects.get(pk=stale.pk)
    assert (result.status, result.attempts, result.output_path) == ("running", 2, "")
    assert not storage.resolve_path(f"output/blue-sky/1/{job.pk}/001.png").exists()


def test_a_late_worker_leaves_the_file_that_the_page_now_shows():
    job = new_job(1)
    stale = _claim_next_page(job.pk)
    PageResult.objects.filter(pk=stale.pk).update(status=PageStatus.PENDING)  # the sweeper re-queued it
    fresh = _claim_next_page(job.pk)
    page_execute(result=fresh, executor=ScriptedExecutor())  # try 2 finishes first and records its output

    page_execute(result=stale, executor=ScriptedExecutor())  # try 1 ends late, on the same output path

    result = PageResult.objects.get(pk=stale.pk)
    assert (result.status, result.attempts) == ("succeeded", 2)
    assert result.output_path == f"output/blue-sky/1/{job.pk}/001.png"
    assert storage.resolve_path(result.output_path).is_file()


def test_a_late_try_in_another_format_leaves_the_output_a_newer_try_recorded():
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor())  # try 1: a PNG, shown to readers
    page_retry(page_result=job.page_results.get())
    stale = _claim_next_page(job.pk)  # try 2 starts...
    PageResult.objects.filter(pk=stale.pk).update(status=PageStatus.PENDING)  # ...and the sweeper re-queues it
    fresh = _claim_next_page(job.pk)
    page_execute(result=fresh, executor=ScriptedExecutor())  # try 3: a PNG again, recorded

    page_execute(result=stale, executor=ScriptedExecutor({1: "jpeg"}))  # try 2 ends late, as a JPEG

    result = PageResult.objects.get(pk=stale.pk)
    assert (result.status, result.attempts, result.output_path) == (
        "succeeded",
        3,
        f"output/blue-sky/1/{job.pk}/001.png",
    )
    assert storage.resolve_path(result.output_path).is_file()
    assert not storage.resolve_path(f"output/blue-sky/1/{job.pk}/001.jpg").exists()


def test_a_retried_page_that_succeeds_again_in_the_same_format_keeps_its_new_file():
    job = new_job(1)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    page_retry(page_result=job.page_results.get())

    job_run(job_id=job.pk, executor=ScriptedExecutor())

    result = job.page_results.get()
    assert (result.status, result.attempts) == ("succeeded", 2)
    assert storage.resolve_path(result.output_path).is_file()


def test_a_task_for_a_job_deleted_meanwhile_ends_quietly():
    job = new_job(1)
    job.delete()

    assert job_run(job_id=job.pk, executor=ScriptedExecutor()) == RunEnd.INACTIVE
    assert _finish_job(job.pk) is True  # nothing left to finish


def test_a_job_is_not_finished_while_a_page_is_still_pending_or_running():
    job = new_job(2)
    page_execute(result=_claim_next_page(job.pk), executor=ScriptedExecutor())
    assert _finish_job(job.pk) is False  # page 2 is pending
    last = _claim_next_page(job.pk)
    assert _finish_job(job.pk) is False  # page 2 is running, none pending
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    assert not JobEvent.objects.filter(job=job, type="job.finished").exists()

    page_execute(result=last, executor=ScriptedExecutor())

    assert _finish_job(job.pk) is True
    job.refresh_from_db()
    assert job.status == Status.SUCCESS


def test_a_job_cancelled_as_its_last_page_ended_stays_cancelled_with_one_finished_event():
    job = new_job(1)
    claim = _claim_next_page(job.pk)
    page_execute(result=claim, executor=ScriptedExecutor())
    job_cancel(job=job)  # between the last record and the task's finish
    events = JobEvent.objects.filter(job=job).count()

    assert _finish_job(job.pk) is True

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert JobEvent.objects.filter(job=job).count() == events


def test_an_executor_that_reads_ahead_is_handed_each_claimed_page_and_the_next_pending_ones():
    job = new_job(4)
    executor = ReadingAheadExecutor(read_ahead=2)

    job_run(job_id=job.pk, executor=executor)

    assert executor.prefetched == [
        ["001.png", "002.png", "003.png"],
        ["002.png", "003.png", "004.png"],
        ["003.png", "004.png"],
        ["004.png"],
    ]
    assert statuses(job) == dict.fromkeys(range(1, 5), "succeeded")


def test_an_executor_set_to_read_no_pages_ahead_is_not_asked_to():
    job = new_job(2)
    executor = ReadingAheadExecutor(read_ahead=0)

    job_run(job_id=job.pk, executor=executor)

    assert executor.prefetched == []
    assert statuses(job) == {1: "succeeded", 2: "succeeded"}


def test_pages_whose_files_cannot_be_read_are_left_out_of_the_read_ahead_and_fail_at_their_turn():
    job = new_job(3)
    storage.delete(job.page_results.get(page__index=2).page.image)
    Page.objects.filter(pk=job.page_results.get(page__index=3).page_id).update(image="../elsewhere/003.png")
    executor = ReadingAheadExecutor(read_ahead=2)

    job_run(job_id=job.pk, executor=executor)

    assert executor.prefetched == [["001.png"], [], []]  # 2 and 3 then fail at load, the executor never called
    assert statuses(job) == {1: "succeeded", 2: "failed", 3: "failed"}


@pytest.fixture
def stop_requested():
    on_stop_signal(signal.SIGINT, None)  # what the worker's handler does on a stop signal
    yield
    worker_shutdown._stop.clear()


def test_a_worker_asked_to_stop_hands_the_job_back_before_its_next_page(stop_requested):
    job = new_job(2)
    executor = ScriptedExecutor()

    assert job_run(job_id=job.pk, executor=executor) == RunEnd.STOPPING

    assert executor.seen == []
    assert statuses(job) == {1: "pending", 2: "pending"}
    assert get_broker().queue_size() == 1  # the next cluster continues it


def test_terms_the_translator_proposes_reach_the_glossary_only_from_a_recorded_try():
    job = new_job(1)
    stale = _claim_next_page(job.pk)
    PageResult.objects.filter(pk=stale.pk).update(status=PageStatus.PENDING)
    fresh = _claim_next_page(job.pk)

    page_execute(result=stale, executor=ScriptedExecutor({1: "terms"}))  # a late try: not recorded
    assert not GlossaryTerm.objects.exists()
    page_execute(result=fresh, executor=ScriptedExecutor({1: "terms"}))

    (term,) = GlossaryTerm.objects.all()
    assert (term.source, term.target, term.status, term.proposed_on_id) == (
        "原文",
        "term of page 1",
        "proposed",
        fresh.page_id,
    )


def test_a_stale_output_that_cannot_be_removed_does_not_stop_the_job():
    job = new_job(2)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    job.page_results.filter(page__index=1).update(output_path="../elsewhere/001.png")  # refused by the storage
    job.page_results.filter(page__index=2).update(output_path="output/blue-sky/1")  # a folder: unlink fails
    job_retry_all(job)

    assert job_run(job_id=job.pk, executor=ScriptedExecutor({1: "fail", 2: "fail"})) == RunEnd.FINISHED

    assert statuses(job) == {1: "failed", 2: "failed"}
    assert storage.resolve_path("output/blue-sky/1").is_dir()


def job_retry_all(job: TranslationJob) -> None:
    for result in job.page_results.all():
        page_retry(page_result=result)


def test_cancelling_mid_page_keeps_nothing_of_that_page_and_stops_the_job():
    job = new_job(3)

    def cancel_on_page_2(work):
        if work.image_name == "002.png":
            job_cancel(job=job)

    executor = ScriptedExecutor(before=cancel_on_page_2)
    assert job_run(job_id=job.pk, executor=executor) == RunEnd.INACTIVE

    assert [work.image_name for work in executor.seen] == ["001.png", "002.png"]
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert statuses(job) == {1: "succeeded", 2: "cancelled", 3: "cancelled"}
    assert (job.pages_succeeded, job.pages_failed) == (1, 0)
    assert not storage.resolve_path(f"output/blue-sky/1/{job.pk}/002.png").exists()


def test_a_job_reports_its_progress_as_numbered_events():
    job = new_job(2)

    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))

    events = list(JobEvent.objects.filter(job=job).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [(e.type, e.payload.get("page"), e.payload.get("stage")) for e in events] == [
        ("job.queued", None, None),
        ("job.started", None, None),
        ("page.started", 1, None),
        ("page.stage", 1, "pipeline"),
        ("page.stage", 1, "store"),
        ("page.succeeded", 1, None),
        ("page.started", 2, None),
        ("page.stage", 2, "pipeline"),
        ("page.failed", 2, None),
        ("job.finished", None, None),
    ]
    assert events[-1].payload == {
        "status": "partial",
        "pages_total": 2,
        "pages_succeeded": 1,
        "pages_failed": 1,
        "pages_no_text": 0,
        "transport_ratio": None,
        "error": "1 of 2 pages failed.",
    }


def test_a_long_job_hands_itself_to_a_new_task_after_its_time_slice():
    job = new_job(3)
    broker = get_broker()

    assert job_run(job_id=job.pk, executor=ScriptedExecutor(), slice_seconds=0) == RunEnd.SLICED

    assert statuses(job) == {1: "succeeded", 2: "pending", 3: "pending"}
    assert broker.queue_size() == 1
