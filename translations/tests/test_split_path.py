"""The split compute path (detect → translate in the worker → render) against the real compute service on loopback."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings

from compute_service import contract
from compute_service.split_contract import DETECT_PATH, READ_EXPIRED, RENDER_PATH, DetectResult, RenderRequest
from compute_service.tests.serving import TOKEN, Service, models_missing
from translations import storage
from translations.executors import CloudRunExecutor
from translations.models import PageResult, TranslationJob
from translations.pipeline.contracts import TranslationResult
from translations.services.execution import job_run
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation
from translations.split_executor import SplitCloudRunExecutor
from translations.testing.chat_server import ChatServer

DEMO = Path(settings.BASE_DIR) / "demo" / "wikipe-tan"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def llm():
    with ChatServer(delay_s=4) as server:
        yield server


def started(**env: str):
    if reason := models_missing():
        pytest.skip(reason)
    # Two page slots: the next page's detect runs beside this page's render.
    running = Service(MANGA_COMPUTE_CONCURRENCY="2", **env).start()
    try:
        assert running.wait_ready()["status"] == "ok"
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def service():
    yield from started(MANGA_COMPUTE_READ_CACHE_PAGES="2")


@pytest.fixture(scope="module")
def forgetful_service(llm):
    """Keeps a read 1 s, less than the LLM stand-in takes to answer: every openai_compat page's key expires."""
    yield from started(
        MANGA_COMPUTE_READ_TTL_SEC="1",
        MANGA_LLM_BASE_URL=llm.url,
        MANGA_LLM_MODEL="stand-in",
        MANGA_LLM_VISION="off",
    )


def executors(service) -> tuple[CloudRunExecutor, SplitCloudRunExecutor]:
    options = {"url": service.url, "token": TOKEN, "timeout_sec": 60, "retries": 0, "backoff_ms": 10}
    return CloudRunExecutor(**options), SplitCloudRunExecutor(read_ahead=2, **options)


def translate(chapter, executor, translator: str) -> TranslationJob:
    job = chapter_request_translation(
        chapter=chapter, target_language="en", translator=translator, backend="cloudrun", enqueue=False
    )
    job_run(job_id=job.pk, executor=executor)
    job.refresh_from_db()
    return job


def pages_of(job: TranslationJob) -> list[tuple[int, bytes, list]]:
    results = PageResult.objects.filter(job=job).select_related("page").order_by("page__index")
    return [(r.page.index, storage.resolve_path(r.output_path).read_bytes(), r.regions) for r in results]


def compute_paths(job: TranslationJob) -> list[str]:
    return [r.models_used.get("compute_path", "") for r in PageResult.objects.filter(job=job).order_by("page__index")]


def test_detect_then_render_gives_the_unified_chapter_byte_for_byte(service):
    chapter = chapter_import(source=DEMO, manga_title="Wikipe-tan", chapter_number=Decimal(1)).chapter
    unified_executor, split_executor = executors(service)

    unified = translate(chapter, unified_executor, "test")
    split = translate(chapter, split_executor, "test")

    assert (unified.status, split.status) == ("success", "success")
    assert pages_of(split) == pages_of(unified)
    assert compute_paths(split) == ["split", "split"]
    assert compute_paths(unified) == ["", ""]
    assert split.request_bytes_total > 300_000  # both raw pages went to detect
    # A page's detect ran during the page before: remote time can pass the page's own time (docs/compute-service.md).
    assert split.remote_elapsed_ms_total > 0


def test_a_render_whose_key_expired_falls_back_to_the_unified_path_and_says_so(forgetful_service, llm, settings):
    # The split path translates here, in the worker: the same stand-in the service's unified path uses.
    settings.MANGA_LLM_BASE_URL, settings.MANGA_LLM_MODEL, settings.MANGA_LLM_VISION = llm.url, "stand-in", "off"
    chapter = chapter_import(source=DEMO, manga_title="Wikipe-tan", chapter_number=Decimal(2)).chapter
    unified_executor, split_executor = executors(forgetful_service)

    unified = translate(chapter, unified_executor, "openai_compat")
    sent_unified = len(llm.requests)
    split = translate(chapter, split_executor, "openai_compat")  # 4 s of translation > the 1 s TTL

    assert (unified.status, split.status) == ("success", "success")
    assert pages_of(split) == pages_of(unified)  # the fallback gives the same page
    reason = "unified (split fallback: render answered 410 read_expired)"
    assert compute_paths(split) == [reason, reason]
    # Each page was translated twice on the split try: once in the worker, once by the service's unified path.
    assert len(llm.requests) - sent_unified == 4


def test_an_evicted_key_is_refused_with_read_expired_and_the_kept_one_renders(service):
    headers = contract.request_headers(TOKEN)
    image = (DEMO / "01.jpg").read_bytes()

    def detect() -> DetectResult:
        files = {"image": ("01.jpg", image, "image/jpeg")}
        answer = requests.post(
            service.url + DETECT_PATH, headers=headers, files=files, data={"source_language": "ja"}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return DetectResult.from_json(answer.content)

    def render(read: DetectResult) -> requests.Response:
        texts = {block.id: f"Line {block.id}" for block in read.blocks if "sfx" not in block.flags}
        body = RenderRequest(read.key, "en", "test", TranslationResult(texts=texts)).to_json()  # type: ignore[arg-type]
        return requests.post(
            service.url + RENDER_PATH,
            headers=headers | {"Content-Type": "application/json"},
            data=body,
            timeout=60,
        )

    first = detect()
    assert first.ttl_s == 300 and first.blocks and first.blocks[0].source_text
    for _ in range(2):  # the cache holds 2 pages: the first key is evicted
        kept = detect()
    evicted = render(first)
    assert evicted.status_code == 410
    assert json.loads(evicted.content)["error"] == READ_EXPIRED
    rendered = render(kept)
    assert rendered.status_code == 200
    answer = contract.decode_page_response(rendered.status_code, rendered.headers, rendered.content)
    lettered = {region.id: region.translation for region in answer.report.regions if region.translation}
    assert lettered == {block.id: f"Line {block.id}" for block in kept.blocks if "sfx" not in block.flags}
    assert len(lettered) >= 5
    assert render(kept).status_code == 410  # a key serves one render


def test_the_split_routes_refuse_a_wrong_token_before_reading_the_body(service):
    for path in (DETECT_PATH, RENDER_PATH):
        answer = requests.post(
            service.url + path, headers={contract.Header.TOKEN.value: "wrong"}, data=b"x", timeout=10
        )
        assert answer.status_code == 401
        assert json.loads(answer.content)["error"] == "unauthorized"
    assert requests.get(service.url + DETECT_PATH, timeout=10).status_code == 405
    mismatch = contract.request_headers(TOKEN) | {contract.Header.CONTRACT_VERSION.value: "0"}
    assert requests.post(service.url + DETECT_PATH, headers=mismatch, data=b"x", timeout=10).status_code == 400
