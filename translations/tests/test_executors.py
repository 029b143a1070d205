"""The executors: CloudRunExecutor against a local server speaking the compute contract, and the choice by backend."""

from __future__ import annotations

import io
import socket

import pytest
import requests
from django_q.brokers import get_broker
from PIL import Image, ImageOps

from compute_service import contract
from translations import executors, storage
from translations.executors import CloudRunExecutor, ExecutorError, LocalExecutor, PageWork, get_executor
from translations.models import JobEvent, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import make_chapter, page_image

TOKEN = "an internal token 0123456789"

# Every try the executor sends is recorded for the metrics (services/telemetry.py): a row each.
pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Backoff waits, recorded instead of slept; the executor's clock moves on by each wait.

    The clock starts far from zero, as a monotonic clock does: only differences of its readings mean anything."""
    waited: list[float] = []
    monkeypatch.setattr(executors, "_wait", waited.append)
    monkeypatch.setattr(executors, "_clock", lambda: 86_400.0 + sum(waited))
    return waited


@pytest.fixture
def stub():
    with ComputeStub(token=TOKEN) as server:
        yield server


@pytest.fixture
def cloudrun(settings, stub):
    settings.MANGA_TRANSLATE_EXECUTION_BACKEND = "cloudrun"
    settings.MANGA_CLOUDRUN_EXEC_URL = stub.url
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN
    settings.MANGA_CLOUDRUN_TIMEOUT_SEC = 1
    settings.MANGA_CLOUDRUN_EXECUTOR_RETRIES = 2
    settings.MANGA_CLOUDRUN_BACKOFF_MS = 100
    settings.MANGA_CLOUDRUN_RETRY_BUDGET_SEC = 0
    return stub


def executor_for(url: str, token: str = TOKEN, retries: int = 2, budget: float = 0) -> CloudRunExecutor:
    return CloudRunExecutor(
        url=url, token=token, timeout_sec=1, retries=retries, backoff_ms=100, retry_budget_sec=budget
    )


def work(index: int = 1, context: tuple[str, ...] = ()) -> PageWork:
    return PageWork(
        image=page_image(index),
        image_name=f"{index:03d}.png",
        source_language="ja",
        target_language="en",
        translator="test",
        context_translations=context,
        correlation_id=f"test/page-{index}",
    )


def test_the_backend_setting_picks_the_executor(settings):
    settings.MANGA_CLOUDRUN_EXEC_URL = "https://compute.example"
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN

    assert isinstance(get_executor("local"), LocalExecutor)
    assert get_executor("local") is get_executor("local")  # one per process: its models load once
    cloud = get_executor("cloudrun")
    assert (cloud.url, cloud.token, cloud.timeout_sec, cloud.retries) == ("https://compute.example", TOKEN, 120, 2)
    with pytest.raises(ValueError, match="unknown execution backend"):
        get_executor("gpu-farm")


def test_a_page_is_posted_with_the_token_languages_and_context_and_comes_back(stub, sleeps):
    stages: list[str] = []

    result = executor_for(stub.url).translate_page(work(2, ("page one", "page two")), on_stage=stages.append)

    (sent,) = stub.requests
    assert sent.token == TOKEN
    assert sent.request.source_language == "ja"
    assert sent.request.target_language == "en"
    assert sent.request.translator == "test"
    assert sent.request.context_translations == ("page one", "page two")
    assert sent.request.image == page_image(2)
    expected = io.BytesIO()
    ImageOps.invert(Image.open(io.BytesIO(page_image(2))).convert("RGB")).save(expected, format="PNG")
    assert result.image == expected.getvalue()
    assert result.image_format == "PNG"
    assert result.report.regions[0].translation == "002.png after 2 pages"
    assert result.request_bytes > len(page_image(2))
    assert result.response_bytes > len(result.image)
    assert result.remote_elapsed_ms == 2
    assert result.transport_attempts == 1
    assert stages == ["remote"]
    assert sleeps == []


def test_two_503s_are_retried_with_growing_jittered_backoff(stub, sleeps):
    stub.script["001.png"] = ["503", "503"]

    result = executor_for(stub.url).translate_page(work(), on_stage=lambda stage: None)

    assert [r.step for r in stub.requests] == ["503", "503", "ok"]
    assert result.transport_attempts == 3
    first, second = sleeps
    assert 0.05 <= first <= 0.1
    assert 0.1 <= second <= 0.2
    # Every try counts in the audit: three request bodies went out.
    assert result.request_bytes == 3 * (result.request_bytes // 3)


def test_a_retry_after_from_the_service_is_honoured(stub, sleeps):
    stub.script["001.png"] = ["429:7"]

    executor_for(stub.url).translate_page(work(), on_stage=lambda stage: None)

    assert sleeps == [7.0]


def test_a_wrong_token_fails_at_once_without_retries(stub, sleeps):
    with pytest.raises(ExecutorError) as caught:
        executor_for(stub.url, token="wrong").translate_page(work(), on_stage=lambda stage: None)

    assert len(stub.requests) == 1
    assert sleeps == []
    assert caught.value.code == contract.ErrorCode.UNAUTHORIZED
    assert str(caught.value) == "the compute service answered 401 unauthorized: wrong or missing X-Internal-Token"


def test_a_pipeline_failure_is_not_retried_and_names_its_stage(stub, sleeps):
    stub.script["001.png"] = ["422"]

    with pytest.raises(ExecutorError) as caught:
        executor_for(stub.url).translate_page(work(), on_stage=lambda stage: None)

    assert len(stub.requests) == 1
    assert caught.value.stage == "detect"


def test_a_service_that_stays_down_fails_after_the_last_retry(stub, sleeps):
    stub.default = "503"

    with pytest.raises(ExecutorError) as caught:
        executor_for(stub.url, retries=1).translate_page(work(), on_stage=lambda stage: None)

    assert len(stub.requests) == 2
    assert caught.value.transport_attempts == 2
    assert str(caught.value) == "the compute service answered 503 not_ready: scripted 503 (after 2 tries in 0s)"
    assert caught.value.transient


def test_connection_refused_is_retried_then_fails_with_the_reason(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there

    with pytest.raises(ExecutorError) as caught:
        executor_for(f"http://127.0.0.1:{port}").translate_page(work(), on_stage=lambda stage: None)

    assert caught.value.code == "connection_error"
    assert caught.value.transport_attempts == 3
    assert len(sleeps) == 2
    assert "cannot reach the compute service" in str(caught.value)
    assert "refused" in str(caught.value).lower()
    # The innermost reason, not the wrapper requests and urllib3 put around it.
    assert "Max retries exceeded" not in str(caught.value)


def test_the_reason_of_a_connection_error_is_its_innermost_cause_or_its_own_message():
    assert executors._reason(requests.ConnectionError("the network is down")) == "the network is down"
    # Nothing to say at all is still no crash: the page stays a transient connection error.
    assert executors._reason(requests.ConnectionError()) == ""


def test_a_request_the_contract_refuses_is_never_sent(stub):
    bad = PageWork(image=b"", image_name="001.png", source_language="ja", target_language="en", translator="test")

    with pytest.raises(ExecutorError, match="the image is empty") as caught:
        executor_for(stub.url).translate_page(bad, on_stage=lambda stage: None)
    assert (caught.value.stage, caught.value.code, caught.value.transport_attempts) == ("load", "corrupt_image", 0)
    unknown = PageWork(
        image=page_image(1), image_name="001.png", source_language="ja", target_language="en", translator="babelfish"
    )
    with pytest.raises(ExecutorError, match="unknown translator 'babelfish'") as caught:
        executor_for(stub.url).translate_page(unknown, on_stage=lambda stage: None)
    assert (caught.value.stage, caught.value.code) == ("request", "unknown_translator")
    assert stub.requests == []


@pytest.mark.django_db
def test_a_chapter_on_a_flaky_service_ends_partial_with_exactly_the_right_pages_kept(cloudrun, sleeps, settings):
    settings.MANGA_PAGE_MAX_ATTEMPTS = 1  # no later try by the job: a page down after its retries fails now
    get_broker().purge_queue()
    cloudrun.script.update({"002.png": ["503", "503"], "003.png": ["slow:2"] * 3, "004.png": ["401"]})
    job = chapter_request_translation(chapter=make_chapter(5), translator="test", enqueue=False)
    assert job.backend == "cloudrun"

    job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == TranslationJob.Status.PARTIAL
    results = {r.page.index: r for r in job.page_results.select_related("page")}
    assert {i: r.status for i, r in results.items()} == {
        1: "succeeded",
        2: "succeeded",
        3: "failed",
        4: "failed",
        5: "succeeded",
    }
    assert results[3].failure_stage == "remote"
    assert results[3].error.startswith("the compute service did not answer within 1s (after 3 tries in ")
    assert results[4].error == "the compute service answered 401 unauthorized: scripted 401"
    for index in (1, 2, 5):
        assert storage.resolve_path(results[index].output_path).exists()
    assert [r.page for r in cloudrun.requests].count("002.png") == 3
    assert [r.page for r in cloudrun.requests].count("003.png") == 3
    assert [r.page for r in cloudrun.requests].count("004.png") == 1
    # Page 5 came after the failures: its context is the last three pages that succeeded.
    (last,) = cloudrun.requests_for("005.png")
    assert last.request.context_translations == ("001.png after 0 pages", "002.png after 1 pages")
    # Audit: every try of every page counted; the remote time is what the service reported.
    assert job.request_bytes_total == sum(r.request_bytes for r in results.values())
    assert results[2].request_bytes > 2 * results[1].request_bytes
    assert job.remote_elapsed_ms_total == 2 * 3  # the stub reports 2 ms on each of the 3 successes
    assert job.translate_elapsed_ms_total >= 3000  # three 1-second timeouts
    assert 0 < job.transport_ratio < 1
    get_broker().purge_queue()


def test_a_cold_start_of_20_seconds_of_503s_is_waited_out_within_the_default_budget(stub, sleeps):
    stub.script["001.png"] = ["503:5"] * 4  # Retry-After: 5, four times: 20 s of a service starting up

    result = executor_for(stub.url, budget=60).translate_page(work(), on_stage=lambda stage: None)

    assert [r.step for r in stub.requests] == ["503:5"] * 4 + ["ok"]
    assert sleeps == [5.0] * 4
    assert result.transport_attempts == 5


def test_the_default_settings_cover_a_25_second_cold_start(settings, stub, sleeps):
    settings.MANGA_CLOUDRUN_EXEC_URL = stub.url
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN
    stub.script["001.png"] = ["503"] * 8  # no Retry-After: the backoff alone

    get_executor("cloudrun").translate_page(work(), on_stage=lambda stage: None)

    # Backoff from 1 s doubling to 10 s: whatever the jitter, eight waits add up to 27.5-55 s, inside 60 s.
    assert len(sleeps) == 8
    assert sum(sleeps) >= 25
    assert [r.step for r in stub.requests][-1] == "ok"


def test_retries_stop_when_the_next_would_start_past_the_budget_and_the_error_is_transient(stub, sleeps):
    stub.default = "503:4"

    with pytest.raises(ExecutorError) as caught:
        executor_for(stub.url, retries=0, budget=10).translate_page(work(), on_stage=lambda stage: None)

    assert sleeps == [4.0, 4.0]  # a third wait would end 12 s after the first try
    assert caught.value.transient
    assert caught.value.transport_attempts == 3
    assert str(caught.value).endswith("(after 3 tries in 8s)")


def test_a_try_that_would_start_exactly_at_the_end_of_the_budget_is_still_made(stub, sleeps):
    stub.default = "503:5"

    with pytest.raises(ExecutorError) as caught:
        executor_for(stub.url, retries=0, budget=10).translate_page(work(), on_stage=lambda stage: None)

    assert sleeps == [5.0, 5.0]  # the third try starts 10 s after the first: within the budget
    assert caught.value.transport_attempts == 3
    assert str(caught.value).endswith("(after 3 tries in 10s)")


@pytest.mark.django_db
def test_a_page_down_past_the_budget_is_tried_again_later_by_its_job_and_succeeds(cloudrun, sleeps):
    from django_q.models import Schedule

    get_broker().purge_queue()
    cloudrun.script["002.png"] = ["503"] * 3  # the first try of the job: three 503s in a row
    job = chapter_request_translation(chapter=make_chapter(3), translator="test", enqueue=False)

    assert str(job_run(job_id=job.pk)) == "deferred"

    job.refresh_from_db()
    statuses = dict(job.page_results.values_list("page__index", "status"))
    assert statuses == {1: "succeeded", 2: "pending", 3: "pending"}
    assert job.status == TranslationJob.Status.RUNNING
    page_2 = job.page_results.get(page__index=2)
    assert page_2.attempts == 1
    assert page_2.error.endswith("; tried again later")
    # Live watchers are told the page waits: the job's last event queues it again, with the reason.
    last = JobEvent.objects.filter(job=job).order_by("seq").last()
    assert (last.type, last.payload["pages"]) == ("job.queued", [2])
    assert last.payload["error"] == page_2.error
    (later,) = Schedule.objects.filter(func="translations.tasks.translate_job")
    assert later.args == f"({job.pk},)"
    assert later.schedule_type == Schedule.ONCE
    assert job.enqueued_at == later.next_run  # the sweeper leaves it to the schedule

    assert str(job_run(job_id=job.pk)) == "finished"  # what the schedule runs

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == ("success", 3, 0)
    assert job.page_results.get(page__index=2).attempts == 2
    get_broker().purge_queue()
