"""A chapter through the real compute service (CloudRunExecutor) gives what the LocalExecutor gives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from compute_service.tests.serving import TOKEN, Service, models_missing
from translations import storage
from translations.models import PageResult, TranslationJob
from translations.services.execution import job_run
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation

DEMO = Path(settings.BASE_DIR) / "demo" / "wikipe-tan"


@pytest.fixture(scope="module")
def service():
    reason = models_missing()
    if reason:
        pytest.skip(reason)
    running = Service().start()
    try:
        assert running.wait_ready()["status"] == "ok"
        yield running
    finally:
        running.stop()


def translate(chapter, backend: str) -> TranslationJob:
    job = chapter_request_translation(
        chapter=chapter, target_language="en", translator="test", backend=backend, enqueue=False
    )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def pages_of(job: TranslationJob) -> list[tuple[int, bytes, list]]:
    results = PageResult.objects.filter(job=job).select_related("page").order_by("page__index")
    return [
        (result.page.index, storage.resolve_path(result.output_path).read_bytes(), result.regions) for result in results
    ]


@pytest.mark.django_db(transaction=True)
def test_the_compute_service_and_the_local_pipeline_give_the_same_chapter(service, settings):
    settings.MANGA_CLOUDRUN_EXEC_URL = service.url
    settings.MANGA_INTERNAL_API_TOKEN = TOKEN
    chapter = chapter_import(source=DEMO, manga_title="Wikipe-tan", chapter_number=Decimal(1)).chapter

    remote = translate(chapter, "cloudrun")
    local = translate(chapter, "local")

    assert (remote.status, remote.pages_succeeded) == ("success", 2)
    assert (local.status, local.pages_succeeded) == ("success", 2)
    assert pages_of(remote) == pages_of(local)
    assert remote.request_bytes_total > 300_000  # the two raw pages went over the wire
    assert remote.response_bytes_total > 200_000
    assert 0 < remote.remote_elapsed_ms_total <= remote.translate_elapsed_ms_total
    assert local.request_bytes_total == 0
