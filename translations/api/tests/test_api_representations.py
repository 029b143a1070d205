"""The written-out representations of jobs and page results equal DRF's own field-by-field walk.

JobSerializer and PageResultSerializer build their answers directly (serializers.py says why); their
declared fields stay the schema. These tests walk the same objects with DRF's generic
`to_representation` and compare, so a field added to `Meta.fields` but not to the dict (or
written differently) fails here as well as in the schemathesis run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request

from translations.api.serializers import (
    JobDetailSerializer,
    JobSerializer,
    PageReportSerializer,
    PageResultSerializer,
)
from translations.models import PageResult, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation, job_cancel
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db


def generic(serializer: serializers.ModelSerializer, obj) -> dict:
    return serializers.ModelSerializer.to_representation(serializer, obj)


@pytest.fixture
def request_context() -> dict:
    return {"request": Request(RequestFactory().get("/api/v1/jobs/", secure=True, HTTP_HOST="localhost"))}


@pytest.fixture
def jobs() -> list[TranslationJob]:
    waiting = make_chapter(2, slug="queued")  # its pages first: no result shares its page's id
    finished = chapter_request_translation(chapter=make_chapter(6, slug="done"), translator="test", enqueue=False)
    script = {1: "costly", 2: "fail", 3: "no_text", 4: "fallback", 6: "fail"}
    job_run(job_id=finished.pk, executor=ScriptedExecutor(script))
    queued = chapter_request_translation(chapter=waiting, translator="test", enqueue=False)
    cancelled = chapter_request_translation(chapter=make_chapter(2, slug="gone"), translator="none", enqueue=False)
    job_cancel(job=cancelled)
    # A result as an older release stored it: a float timing, microseconds.
    PageResult.objects.filter(job=queued).update(
        timings={"detect": 12.0}, started_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    )
    return list(TranslationJob.objects.select_related("chapter").order_by("pk"))


def test_jobs_are_written_as_drf_would_write_them(jobs, request_context):
    for job in jobs:
        serializer = JobSerializer(context=request_context)
        mine = serializer.to_representation(job)
        assert list(mine) == JobSerializer.Meta.fields
        assert mine == generic(serializer, job), job
    assert any(job.transport_ratio is not None for job in jobs)  # the costly page set one


def test_page_results_and_reports_are_written_as_drf_would_write_them(jobs, request_context):
    results = PageResult.objects.select_related("page").order_by("pk")
    assert {result.status for result in results} >= {"succeeded", "failed", "no_text", "pending", "cancelled"}
    for result in results:
        for cls in (PageResultSerializer, PageReportSerializer):
            serializer = cls(context=request_context)
            mine = serializer.to_representation(result)
            assert list(mine) == cls.Meta.fields
            assert mine == generic(serializer, result), (cls.__name__, result)


def test_a_job_detail_lists_its_pages_in_order(jobs, request_context):
    job = jobs[0]
    serializer = JobDetailSerializer(context=request_context)
    mine = serializer.to_representation(job)
    assert mine == generic(serializer, job)
    assert [page["page"] for page in mine["pages"]] == [1, 2, 3, 4, 5, 6]
    assert mine["websocket_url"] == f"wss://localhost/ws/jobs/{job.pk}/"
