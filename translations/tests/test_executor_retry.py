"""CloudRunExecutor's answers and retry policy at their edges, against the local compute-contract server."""

from __future__ import annotations

import time

import pytest

from compute_service import contract
from translations import executors
from translations.executors import MAX_RETRY_AFTER_SEC, CloudRunExecutor, ExecutorError, PageWork
from translations.testing.compute_server import ComputeStub
from translations.tests.job_helpers import page_image

TOKEN = "an internal token 0123456789"


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(executors, "_wait", waited.append)
    return waited


@pytest.fixture
def stub():
    with ComputeStub(token=TOKEN) as server:
        yield server


def executor_for(url: str, retries: int = 2, backoff_ms: int = 100) -> CloudRunExecutor:
    # No retry budget: the tries are counted (the budget has its own tests in test_executors.py).
    return CloudRunExecutor(
        url=url, token=TOKEN, timeout_sec=1, retries=retries, backoff_ms=backoff_ms, retry_budget_sec=0
    )


def work(index: int = 1) -> PageWork:
    return PageWork(
        image=page_image(index),
        image_name=f"{index:03d}.png",
        source_language="ja",
        target_language="en",
        translator="gemini_hq",
        correlation_id=f"test/page-{index}",
    )


def translate(executor: CloudRunExecutor, page: PageWork | None = None):
    return executor.translate_page(page or work(), on_stage=lambda stage: None)


def test_a_200_that_names_a_failure_stage_fails_the_page_at_that_stage_without_a_retry(stub, sleeps):
    stub.script["001.png"] = ["failed:inpaint"]

    with pytest.raises(ExecutorError) as caught:
        translate(executor_for(stub.url))

    assert (caught.value.stage, caught.value.code) == ("inpaint", "failure_stage")
    assert str(caught.value) == "the compute service reported a failure in a successful answer"
    assert len(stub.requests) == 1
    assert sleeps == []
    # The audit still counts what the failed answer cost.
    assert caught.value.transport_attempts == 1
    assert caught.value.request_bytes > len(page_image(1))
    assert caught.value.response_bytes > 0
    assert caught.value.remote_elapsed_ms == 2


def test_a_failure_stage_after_a_retry_counts_both_tries(stub, sleeps):
    stub.script["001.png"] = ["503", "failed:letter"]

    with pytest.raises(ExecutorError) as caught:
        translate(executor_for(stub.url))

    assert caught.value.stage == "letter"
    assert caught.value.transport_attempts == 2
    assert len(sleeps) == 1


def test_the_configured_models_reach_the_compute_service(settings, stub, sleeps):
    settings.GEMINI_MODEL = "gemini-3-flash-preview"
    settings.GEMINI_FALLBACK_MODEL = "gemini-2.5-flash"

    translate(executor_for(stub.url))

    (sent,) = stub.requests
    assert sent.request.primary_model == "gemini-3-flash-preview"
    assert sent.request.fallback_model == "gemini-2.5-flash"


def test_no_model_is_sent_when_none_is_configured(settings, stub, sleeps):
    settings.GEMINI_MODEL = ""
    settings.GEMINI_FALLBACK_MODEL = ""

    translate(executor_for(stub.url))

    (sent,) = stub.requests
    assert (sent.request.primary_model, sent.request.fallback_model) == (None, None)


def test_a_malformed_report_is_a_retryable_contract_error(stub, sleeps):
    stub.script["001.png"] = ["bad_report"]

    result = translate(executor_for(stub.url))

    assert [r.step for r in stub.requests] == ["bad_report", "ok"]
    assert result.transport_attempts == 2
    assert len(sleeps) == 1


def test_a_service_that_keeps_sending_malformed_reports_fails_the_page_after_the_last_try(stub, sleeps):
    stub.default = "bad_report"

    with pytest.raises(ExecutorError) as caught:
        translate(executor_for(stub.url, retries=1))

    assert caught.value.code == contract.ErrorCode.INTERNAL
    assert caught.value.stage == "remote"
    assert str(caught.value).startswith("the compute service answered 502 internal_error: malformed page report")
    assert "(after 2 tries" in str(caught.value)
    assert caught.value.transport_attempts == 2


def test_a_retry_after_of_exactly_the_longest_honoured_wait_is_honoured(stub, sleeps):
    # docs/configuration.md: a Retry-After from the service of up to 120 s wins over the backoff.
    stub.script["001.png"] = ["429:120"]

    translate(executor_for(stub.url))

    assert sleeps == [120.0] == [MAX_RETRY_AFTER_SEC]


def test_a_longer_retry_after_falls_back_to_the_jittered_backoff(stub, sleeps):
    stub.script["001.png"] = ["429:121"]

    translate(executor_for(stub.url))

    (waited,) = sleeps
    assert 0.05 <= waited <= 0.1


def test_the_backoff_doubles_per_try_and_is_at_least_half_its_ceiling(stub, sleeps, monkeypatch):
    stub.script["001.png"] = ["503", "503", "503"]
    bounds: list[tuple[float, float]] = []
    monkeypatch.setattr(executors.random, "uniform", lambda low, high: bounds.append((low, high)) or high)

    translate(executor_for(stub.url, retries=3, backoff_ms=1000))

    assert bounds == [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]
    assert sleeps == [1.0, 2.0, 4.0]


def test_without_retries_a_503_fails_at_the_first_try(stub, sleeps):
    stub.default = "503"

    with pytest.raises(ExecutorError) as caught:
        translate(executor_for(stub.url, retries=0))

    assert len(stub.requests) == 1
    assert sleeps == []
    assert str(caught.value).startswith("the compute service answered 503 not_ready: scripted 503")
    assert caught.value.transport_attempts == 1


def test_a_timeout_is_retried_and_named(stub, sleeps):
    stub.default = "slow:1.5"

    with pytest.raises(ExecutorError) as caught:
        translate(executor_for(stub.url, retries=1))

    assert caught.value.code == "timeout"
    assert caught.value.stage == "remote"
    assert str(caught.value).startswith("the compute service did not answer within 1s (after 2 tries")
    assert caught.value.transport_attempts == 2
    assert len(sleeps) == 1


def test_the_remote_time_of_failed_tries_adds_up_from_their_headers():
    assert executors._remote_ms("17") == 17
    assert executors._remote_ms(None) == 0
    assert executors._remote_ms("") == 0
    assert executors._remote_ms("soon") == 0


def test_the_stage_callback_hears_remote_once_for_all_tries(stub, sleeps):
    stub.script["001.png"] = ["503"]
    stages: list[str] = []

    executor_for(stub.url).translate_page(work(), on_stage=stages.append)

    assert stages == ["remote"]


def test_a_retry_really_waits_what_the_service_asked(stub):
    stub.script["001.png"] = ["429:1"]  # Retry-After: 1; no stand-in for the wait in this test

    started = time.monotonic()
    result = translate(executor_for(stub.url))

    assert time.monotonic() - started >= 1.0
    assert result.transport_attempts == 2
