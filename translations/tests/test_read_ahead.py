"""Read-ahead in the local executor: the same chapter as the serial run, byte for byte, with pages read early."""

from __future__ import annotations

import hashlib
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageOps

from compute_service.tests.serving import models_missing
from translations import storage
from translations.executors import LocalExecutor
from translations.models import Chapter, JobEvent, Manga, PageResult, TranslationJob
from translations.readahead import PageReader, read_key
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.services.sweeper import jobs_sweep
from translations.testing.chat_server import ChatRequest, ChatServer
from translations.tests.library import store_page
from translations.tests.live_stack import wait_for

DEMO = Path(settings.BASE_DIR) / "demo" / "wikipe-tan"
DELAY = 0.5

pytestmark = pytest.mark.django_db(transaction=True)


def mirrored_png(path: Path) -> bytes:
    buffer = io.BytesIO()
    ImageOps.mirror(Image.open(path)).save(buffer, format="PNG")
    return buffer.getvalue()


def chapter_pages() -> list[bytes]:
    """Four pages, each with its own pixels: the two demo pages, then both mirrored (as PNG)."""
    jpegs = [(DEMO / name).read_bytes() for name in ("01.jpg", "02.jpg")]
    return [*jpegs, mirrored_png(DEMO / "01.jpg"), mirrored_png(DEMO / "02.jpg")]


def make_chapter(number: int, pages: list[bytes]) -> Chapter:
    manga, _ = Manga.objects.get_or_create(slug="wikipe-tan", defaults={"title": "Wikipe-tan"})
    chapter = Chapter.objects.create(manga=manga, number=Decimal(number))
    for index, data in enumerate(pages, start=1):
        store_page(chapter, index, data)
    return chapter


def deterministic(request: ChatRequest, block_id: int) -> str:
    # Depends on the whole prompt (lines, context, glossary): any change in order or context changes every answer after.
    return f"Line {block_id} of {hashlib.sha256(request.text.encode()).hexdigest()[:10]}"


class RecordingExecutor(LocalExecutor):
    """The local executor, noting when each background read starts."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reads: list[tuple[str, float]] = []

    def _read_page(self, image: bytes, source_language: str):
        self.reads.append((read_key(image, source_language)[0], time.monotonic()))
        return super()._read_page(image, source_language)


@pytest.fixture
def llm(settings):
    if reason := models_missing():
        pytest.skip(reason)
    with ChatServer(answer=deterministic, delay_s=DELAY) as server:
        settings.MANGA_LLM_BASE_URL = server.url
        settings.MANGA_LLM_MODEL = "qwen2.5vl:7b"
        yield server


def run(chapter: Chapter, executor: LocalExecutor) -> TranslationJob:
    job = chapter_request_translation(chapter=chapter, target_language="en", translator="openai_compat", enqueue=False)
    job_run(job_id=job.pk, executor=executor)
    job.refresh_from_db()
    return job


def outcome(job: TranslationJob) -> list[tuple]:
    results = PageResult.objects.filter(job=job).select_related("page").order_by("page__index")
    return [
        (
            r.page.index,
            r.status,
            r.failure_stage,
            r.error,
            storage.resolve_path(r.output_path).read_bytes() if r.output_path else b"",
            r.regions,
        )
        for r in results
    ]


def test_read_ahead_gives_the_serial_chapter_byte_for_byte_and_reads_while_translating(llm):
    pages = chapter_pages()
    model_dir = Path(settings.MANGA_MODEL_DIR)
    serial_executor = RecordingExecutor(model_dir=model_dir, read_ahead=0)
    serial = run(make_chapter(1, pages), serial_executor)
    serial_requests = list(llm.requests)
    llm.requests.clear()
    ahead_executor = RecordingExecutor(model_dir=model_dir, read_ahead=2)
    ahead = run(make_chapter(2, pages), ahead_executor)
    ahead_requests = list(llm.requests)

    assert (serial.status, serial.pages_succeeded) == ("success", 4)
    assert (ahead.status, ahead.pages_succeeded) == ("success", 4)
    # The same requests in the same order: same image, lines, context (the previous pages' answers), glossary.
    assert len(serial_requests) == len(ahead_requests) == 4
    assert [json.dumps(r.body, sort_keys=True) for r in ahead_requests] == [
        json.dumps(r.body, sort_keys=True) for r in serial_requests
    ]
    assert "--- previous page ---" in ahead_requests[3].text and "--- 3 pages back ---" in ahead_requests[3].text
    assert outcome(ahead) == outcome(serial)  # same output files, regions and translations
    # Serial reads in the page's own turn; read-ahead reads each page once, in page order, in the background,
    # and page 2's read starts before page 1's translation has answered.
    assert serial_executor.reads == []
    assert [sha for sha, _ in ahead_executor.reads] == [hashlib.sha256(data).hexdigest() for data in pages]
    page_2_read_started = ahead_executor.reads[1][1]
    assert page_2_read_started < ahead_requests[0].received_at + DELAY
    assert ahead_executor.reader.pending() == 0  # nothing left held after the last page


def test_a_page_whose_read_ahead_fails_fails_as_it_does_without(llm):
    pages = chapter_pages()[:3]
    model_dir = Path(settings.MANGA_MODEL_DIR)
    jobs = []
    for number, depth in ((1, 0), (2, 2)):
        chapter = make_chapter(number, pages)
        broken = chapter.pages.get(index=2)
        storage.resolve_path(broken.image).write_bytes(pages[1][:2000])  # a truncated JPEG
        jobs.append(run(chapter, LocalExecutor(model_dir=model_dir, read_ahead=depth)))
    serial, ahead = jobs

    assert (serial.status, serial.pages_succeeded, serial.pages_failed) == ("partial", 2, 1)
    assert outcome(ahead) == outcome(serial)
    failed = [row for row in outcome(ahead) if row[1] == "failed"]
    assert [(index, stage) for index, _, stage, *_ in failed] == [(2, "load")]


def test_the_reader_keeps_only_the_pages_asked_and_reraises_a_failed_read():
    calls: list[bytes] = []

    def read(image: bytes, language: str):
        calls.append(image)
        if image == b"bad":
            raise ValueError("cannot read")
        return image.decode()

    reader = PageReader(read, depth=1)
    reader.prefetch([(b"one", "ja"), (b"two", "ja"), (b"three", "ja")])  # only the current page and one more
    assert reader.take(b"one", "ja") == "one"
    reader.prefetch([(b"bad", "ja")])  # "two" is no longer wanted: dropped
    assert reader.pending() == 1
    with pytest.raises(ValueError, match="cannot read"):
        reader.take(b"bad", "ja")
    assert reader.take(b"four", "ja") == "four"  # not asked ahead: read now, in the reader thread
    assert b"three" not in calls


def test_a_worker_killed_mid_chapter_with_pages_read_ahead_loses_nothing_and_translates_each_page_once(
    stack_factory, data_dir
):
    if reason := models_missing():
        pytest.skip(reason)
    buffer = io.BytesIO()
    Image.open(DEMO / "02.jpg").save(buffer, format="JPEG", quality=80)
    pages = [*chapter_pages(), buffer.getvalue()]
    with ChatServer(delay_s=1.5) as server:
        chapter = make_chapter(1, pages)
        stack = stack_factory(
            MANGA_TRANSLATE_EXECUTION_BACKEND="local",
            MANGA_READ_AHEAD_PAGES="2",
            MANGA_LLM_BASE_URL=server.url,
            MANGA_LLM_MODEL="qwen2.5vl:7b",
            MANGA_PAGE_LEASE_SEC="3",
        )
        job = chapter_request_translation(chapter=chapter, translator="openai_compat", backend="local")
        stack.start("qcluster")

        def page_3_translating() -> bool:
            running = job.page_results.filter(page__index=3, status=PageResult.Status.RUNNING).exists()
            return running and len(server.requests) == 3  # its request is at the server, which answers in 1.5 s

        wait_for(page_3_translating, 180, "page 3 was not being translated", stack)
        stack.kill("qcluster")  # SIGKILL to the whole cluster while page 3 waits and pages 4, 5 are read ahead

        statuses = dict(job.page_results.values_list("page__index", "status"))
        assert statuses == {1: "succeeded", 2: "succeeded", 3: "running", 4: "pending", 5: "pending"}
        stack.start("qcluster")
        time.sleep(3.5)  # the killed worker's lease runs out
        assert jobs_sweep().requeued_pages == [job.page_results.get(page__index=3).pk]
        wait_for(
            lambda: TranslationJob.objects.get(pk=job.pk).status not in TranslationJob.ACTIVE,
            180,
            "the job did not finish",
            stack,
        )
        sent_images = [hashlib.sha256(sent.images[0]).hexdigest() for sent in server.requests]

    job.refresh_from_db()
    assert (job.status, job.pages_succeeded, job.pages_failed) == ("success", 5, 0)
    attempts = dict(job.page_results.values_list("page__index", "attempts"))
    assert attempts == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    succeeded = JobEvent.objects.filter(job=job, type="page.succeeded").values_list("payload__page", flat=True)
    assert sorted(succeeded) == [1, 2, 3, 4, 5]  # each page recorded once
    # Each page translated once, except page 3, asked again after the kill; nothing read ahead was lost.
    for result in job.page_results.all():
        assert storage.resolve_path(result.output_path).is_file()
    assert len(sent_images) == 6
    assert sent_images.count(sent_images[2]) == 2
    assert len(set(sent_images)) == 5
