"""Chapter downloads: request (idempotent), run (resumable), retry, cancel; import into the library at the end.

A download is a row and a django-q2 task (`download_run`). The worker claims it with a
conditional update and keeps a lease alive with a heartbeat; the sweeper re-queues a download
whose lease ran out (scraper/services/sweeper.py). Pages are staged under
`data/scraper/downloads/<id>/NNN.ext`, each validated like an imported page; a page stored and
still valid (same sha256 on disk) is never fetched again. When every page is stored the staged
folder goes through the library's own `chapter_import`, which checks the pages again and creates
Manga/Chapter/Page in one transaction: a failed download leaves no half chapter.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from scraper.errors import ScrapeError
from scraper.models import Download, DownloadPage, ErrorCode, Source, url_host
from scraper.progress import EventType, PageFailedPayload, download_event_record, finished_payload
from scraper.providers.base import Provider
from scraper.services.sources import source_provider
from scraper.throttle import release_thread_connection
from translations import storage
from translations.models import Chapter, Manga, Translator
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.services.audit import audit_record
from translations.services.imports import ImportRefused, chapter_import
from translations.services.jobs import JobConflict, JobError, chapter_request_translation

logger = logging.getLogger(__name__)

TASK_DOWNLOAD = "scraper.tasks.download_chapter"
STAGING_DIR = "scraper/downloads"

Status = Download.Status
PageStatus = DownloadPage.Status


class DownloadRefused(Exception):
    """A download request or action refused before any work; the message says why."""


@dataclass(frozen=True)
class ChapterChoice:
    """One chapter to download, as a provider listed it."""

    url: str
    number: Decimal
    title: str = ""


# --- requests ------------------------------------------------------------------------------------


def download_request(
    *,
    source: Source,
    manga_url: str,
    manga_title: str,
    chapter: ChapterChoice,
    translate_to: str = "",
    translator: str = "",
    requested_by=None,
    enqueue: bool = True,
) -> tuple[Download, bool]:
    """Queue one chapter; returns (download, created). A chapter already queued or running gives that one back.

    `enqueue=False` leaves the download for the caller to run (`manage.py scrape download --sync`).
    """
    for url in (manga_url, chapter.url):
        if url_host(url) != source.host:
            raise DownloadRefused(f"{url} is not on {source.host}, the host of source {source}.")
    if not manga_title.strip():
        raise DownloadRefused("The manga title is empty.")
    if translate_to and translate_to not in TARGET_LANGUAGES:
        raise DownloadRefused(f"Unknown target language {translate_to!r}; use one of: {', '.join(TARGET_LANGUAGES)}.")
    if translator and translator not in Translator.values:
        raise DownloadRefused(f"Unknown translator {translator!r}; use one of: {', '.join(Translator.values)}.")
    active = Download.objects.filter(chapter_url=chapter.url, status__in=Download.ACTIVE).first()
    if active is not None:
        return active, False
    limit = settings.MANGA_SCRAPER_MAX_ACTIVE_DOWNLOADS
    try:
        with transaction.atomic():
            if Download.objects.filter(status__in=Download.ACTIVE).count() >= limit:
                raise DownloadRefused(f"{limit} downloads are queued or running already; try again later.")
            download = Download.objects.create(
                source=source,
                manga_url=manga_url,
                manga_title=manga_title.strip(),
                chapter_url=chapter.url,
                chapter_number=chapter.number,
                chapter_title=chapter.title[:300],
                translate_to=translate_to,
                translator=translator if translate_to else "",
                requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
            )
            download_event_record(
                download_id=download.pk, type=EventType.QUEUED, payload={"chapter_url": chapter.url, "pages": []}
            )
            audit_record(
                actor=requested_by,
                action="scraper.download",
                obj=download,
                message=f"Queued download of {manga_title} chapter {chapter.number} from {source}"
                + (f", then translation into {translate_to}." if translate_to else "."),
                details={"chapter_url": chapter.url, "translate_to": translate_to},
            )
            if enqueue:
                transaction.on_commit(lambda: download_enqueue(download.pk))
    except IntegrityError:
        # download_one_active_per_chapter decided a race with another request: that one is the answer.
        active = Download.objects.filter(chapter_url=chapter.url, status__in=Download.ACTIVE).first()
        if active is None:
            raise
        return active, False
    return download, True


def download_enqueue(download_id: int) -> str:
    """Hand the download to the workers. A second task for one download finds it claimed and does nothing."""
    Download.objects.filter(pk=download_id).update(enqueued_at=timezone.now())
    return async_task(TASK_DOWNLOAD, download_id, group=f"download-{download_id}")


def download_retry(*, download: Download, requested_by=None) -> Download:
    """Queue a partial, failed or cancelled download again; pages already stored are kept."""
    try:
        with transaction.atomic():
            download = Download.objects.select_for_update().get(pk=download.pk)
            if download.status not in (Status.PARTIAL, Status.ERROR, Status.CANCELLED):
                raise DownloadRefused(
                    f"Download {download.pk} is {download.status}; only partial, failed or cancelled downloads retry."
                )
            pending = list(download.pages.exclude(status=PageStatus.STORED).values_list("index", flat=True))
            download.pages.filter(status=PageStatus.FAILED).update(status=PageStatus.PENDING, error_code="", error="")
            download.move_to(Status.QUEUED, error_code="", error="", finished_at=None, lease_expires_at=None)
            download_event_record(
                download_id=download.pk,
                type=EventType.QUEUED,
                payload={"chapter_url": download.chapter_url, "pages": pending},
            )
            audit_record(
                actor=requested_by,
                action="scraper.download_retry",
                obj=download,
                message=f"Retried download {download.pk} ({len(pending)} page(s) to fetch).",
            )
            transaction.on_commit(lambda: download_enqueue(download.pk))
    except IntegrityError as exc:
        raise DownloadRefused(f"{download.chapter_url} has another active download; retry after it.") from exc
    return download


def download_cancel(*, download: Download, requested_by=None) -> bool:
    """Stop a queued or running download (the worker stops before its next page). False if it had finished."""
    with transaction.atomic():
        download = Download.objects.select_for_update().get(pk=download.pk)
        if not download.move_to(Status.CANCELLED, lease_expires_at=None):
            return False
        download_event_record(download_id=download.pk, type=EventType.FINISHED, payload=finished_payload(download))
        audit_record(
            actor=requested_by, action="scraper.download_cancel", obj=download, message=f"Cancelled {download}."
        )
    return True


# --- the worker ------------------------------------------------------------------------------------


def download_run(*, download_id: int, provider: Provider | None = None) -> str:
    """Claim the download, fetch the pages it still lacks, then import or report what failed; returns the status."""
    download = _claim(download_id)
    if download is None:
        return "inactive"
    with _LeaseHeartbeat(download.pk, download.attempts):
        try:
            provider = provider or source_provider(download.source)
            pages = _listed_pages(download, provider)
            _fetch_pages(download, provider, pages)
            return _finish(download)
        except ScrapeError as exc:
            _end(download, Status.ERROR, code=exc.code, error=str(exc))
            return Status.ERROR
        except Exception as exc:
            logger.exception("download %s crashed", download.pk)
            _end(download, Status.ERROR, code=ErrorCode.INTERNAL, error=f"internal error: {type(exc).__name__}: {exc}")
            raise


def _claim(download_id: int) -> Download | None:
    with transaction.atomic():
        download = Download.objects.select_for_update().select_related("source").filter(pk=download_id).first()
        if download is None or download.status != Status.QUEUED:
            return None
        attempt = download.attempts + 1
        claimed = download.move_to(
            Status.RUNNING,
            where={"attempts": download.attempts},
            attempts=attempt,
            lease_expires_at=_lease_end(),
            error_code="",
            error="",
            started_at=timezone.now(),
        )
        if not claimed:
            return None
        pages = download.pages.all()
        download_event_record(
            download_id=download.pk,
            type=EventType.STARTED,
            payload={
                "attempt": attempt,
                "pages_total": pages.count(),
                "pages_stored": pages.filter(status=PageStatus.STORED).count(),
            },
        )
    logger.info("download %s claimed (attempt %d): %s", download.pk, attempt, download.chapter_url)
    return download


def _still_ours(download: Download) -> bool:
    return Download.objects.filter(pk=download.pk, status=Status.RUNNING, attempts=download.attempts).exists()


def _listed_pages(download: Download, provider: Provider) -> list[DownloadPage]:
    """The download's pages; listed from the chapter's reader page the first time only."""
    pages = list(download.pages.order_by("index"))
    if pages:
        return pages
    addresses = provider.page_images(download.chapter_url)
    if len(addresses) > settings.MANGA_IMPORT_MAX_FILES:
        raise ScrapeError(ErrorCode.PARSE, f"The chapter lists {len(addresses)} images, more than the import limit.")
    with transaction.atomic():
        if not _still_ours(download):
            return []
        DownloadPage.objects.bulk_create(
            DownloadPage(download=download, index=index, url=url) for index, url in enumerate(addresses, start=1)
        )
        Download.objects.filter(pk=download.pk).update(pages_total=len(addresses))
        download.pages_total = len(addresses)
    return list(download.pages.order_by("index"))


def _fetch_pages(download: Download, provider: Provider, pages: list[DownloadPage]) -> None:
    todo = [page for page in pages if not _stored_and_valid(page)]
    if not todo:
        return
    stop = threading.Event()
    client = provider.client  # the provider's chokepoint: politeness, guard, cookies
    workers = max(1, client.politeness.concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"download-{download.pk}") as pool:
        futures = {pool.submit(_fetch_one, client.get, download, page, stop): page for page in todo}
        for future in as_completed(futures):
            page = futures[future]
            outcome = future.result()
            if outcome is None:
                continue  # stopped before fetching
            if not _record_page(download, page, outcome):
                stop.set()  # cancelled, or the sweeper gave the download to another worker


@dataclass(frozen=True)
class _PageOutcome:
    staged_path: str = ""
    sha256: str = ""
    size_bytes: int = 0
    error_code: str = ""
    error: str = ""


def _fetch_one(get: Callable, download: Download, page: DownloadPage, stop: threading.Event) -> _PageOutcome | None:
    try:
        if stop.is_set():
            return None
        name = f"page {page.index}"
        try:
            response = get(page.url, referer=download.chapter_url, kind="image")
        except ScrapeError as exc:
            return _PageOutcome(error_code=exc.code, error=f"{name}: {exc}")
        if _looks_like_html(response.headers.get("content-type", ""), response.body):
            return _PageOutcome(
                error_code=ErrorCode.NOT_IMAGE,
                error=f"{name}: {page.url} answered with an HTML page, not an image (hotlink protection or a "
                "removed image).",
            )
        try:
            info = storage.validate_image(response.body, name)
        except storage.InvalidImage as exc:
            return _PageOutcome(error_code=ErrorCode.INVALID_IMAGE, error=str(exc))
        staged = f"{STAGING_DIR}/{download.pk}/{page.index:03d}.{info.extension}"
        storage.write_atomic(staged, response.body)
        if page.staged_path and page.staged_path != staged:
            storage.delete(page.staged_path)  # an earlier try stored this page in another format
        return _PageOutcome(staged_path=staged, sha256=info.sha256, size_bytes=info.size_bytes)
    finally:
        release_thread_connection()


def _stored_and_valid(page: DownloadPage) -> bool:
    """A stored page whose staged file is still there with the same bytes is not fetched again."""
    if page.status != PageStatus.STORED or not page.staged_path:
        return False
    try:
        data = storage.resolve_path(page.staged_path).read_bytes()
    except (OSError, storage.StorageError):
        return False
    return hashlib.sha256(data).hexdigest() == page.sha256


def _record_page(download: Download, page: DownloadPage, outcome: _PageOutcome) -> bool:
    """Store the page's outcome if the download is still ours; False when it is not (stop fetching)."""
    with transaction.atomic():
        if (
            not Download.objects.select_for_update()
            .filter(pk=download.pk, status=Status.RUNNING, attempts=download.attempts)
            .exists()
        ):
            return False
        fetches = page.fetches + 1
        if outcome.error_code:
            DownloadPage.objects.filter(pk=page.pk).update(
                status=PageStatus.FAILED, error_code=outcome.error_code, error=outcome.error, fetches=fetches
            )
            failed: PageFailedPayload = {"page": page.index, "error_code": outcome.error_code, "error": outcome.error}
            download_event_record(download_id=download.pk, type=EventType.PAGE_FAILED, payload=failed)
        else:
            DownloadPage.objects.filter(pk=page.pk).update(
                status=PageStatus.STORED,
                staged_path=outcome.staged_path,
                sha256=outcome.sha256,
                size_bytes=outcome.size_bytes,
                error_code="",
                error="",
                fetches=fetches,
                stored_at=timezone.now(),
            )
            download_event_record(
                download_id=download.pk,
                type=EventType.PAGE_STORED,
                payload={"page": page.index, "size_bytes": outcome.size_bytes},
            )
        _refresh_counters(download.pk)
    return True


def _refresh_counters(download_id: int) -> None:
    pages = DownloadPage.objects.filter(download_id=download_id)
    Download.objects.filter(pk=download_id).update(
        pages_total=pages.count(),
        pages_stored=pages.filter(status=PageStatus.STORED).count(),
        pages_failed=pages.filter(status=PageStatus.FAILED).count(),
    )


def _finish(download: Download) -> str:
    if not _still_ours(download):
        return "inactive"
    pages = download.pages.all()
    failed = list(pages.filter(status=PageStatus.FAILED).order_by("index"))
    if failed or pages.exclude(status=PageStatus.STORED).exists():
        first = failed[0].error if failed else "pages were left unfetched"
        error = f"{len(failed)} of {pages.count()} pages failed; nothing was imported. First: {first}"
        _end(download, Status.PARTIAL, code=ErrorCode.PAGES_FAILED, error=error)
        return Status.PARTIAL
    return _import(download)


def _import(download: Download) -> str:
    existing = Manga.objects.filter(source_url=download.manga_url).first()
    try:
        result = chapter_import(
            source=storage.resolve_path(f"{STAGING_DIR}/{download.pk}"),
            manga_title=download.manga_title,
            chapter_number=download.chapter_number,
            language=existing.source_language if existing else download.source.language,
            manga_slug=existing.slug if existing else None,
            chapter_title=download.chapter_title,
        )
    except ImportRefused as exc:
        _end(download, Status.ERROR, code=ErrorCode.IMPORT_REFUSED, error=str(exc))
        return Status.ERROR
    Manga.objects.filter(pk=result.manga.pk, source_url="").update(source_url=download.manga_url[:500])
    Chapter.objects.filter(pk=result.chapter.pk, source_url="").update(source_url=download.chapter_url[:500])
    job_id, translation_error = _chain_translation(download, result.chapter)
    _end(
        download,
        Status.SUCCESS,
        chapter_id=result.chapter.pk,
        translation_job_id=job_id,
        translation_error=translation_error,
    )
    remove_staging(download.pk)
    logger.info("download %s imported: chapter %s (%d new pages)", download.pk, result.chapter.pk, result.pages_created)
    return Status.SUCCESS


def _chain_translation(download: Download, chapter: Chapter) -> tuple[int | None, str]:
    if not download.translate_to:
        return None, ""
    try:
        job = chapter_request_translation(
            chapter=chapter,
            target_language=download.translate_to,
            translator=download.translator or None,
            requested_by=download.requested_by,
        )
    except JobConflict as exc:
        return (exc.job.pk if exc.job else None), ""
    except JobError as exc:
        return None, str(exc)
    return job.pk, ""


def _end(download: Download, status: str, *, code: str = "", error: str = "", **fields) -> bool:
    with transaction.atomic():
        _refresh_counters(download.pk)
        counters = Download.objects.filter(pk=download.pk).values("pages_total", "pages_stored", "pages_failed").get()
        ended = download.move_to(
            status,
            where={"attempts": download.attempts},
            error_code=code,
            error=error,
            lease_expires_at=None,
            **counters,
            **fields,
        )
        if ended:
            download_event_record(download_id=download.pk, type=EventType.FINISHED, payload=finished_payload(download))
    logger.info("download %s ended %s %s %s", download.pk, status, code, error[:200])
    return ended


def remove_staging(download_id: int) -> None:
    path = storage.resolve_path(f"{STAGING_DIR}/{download_id}")
    shutil.rmtree(path, ignore_errors=True)


def _looks_like_html(content_type: str, body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return "text/html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def _lease_end():
    return timezone.now() + timedelta(seconds=settings.MANGA_SCRAPER_LEASE_SEC)


class _LeaseHeartbeat:
    """Extends the download's lease every third of MANGA_SCRAPER_LEASE_SEC while this worker runs it.

    When the process dies the beats stop and the lease runs out: the sweeper re-queues the download.
    """

    def __init__(self, download_id: int, attempt: int) -> None:
        self.download_id = download_id
        self.attempt = attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"download-lease-{download_id}", daemon=True)

    def __enter__(self) -> _LeaseHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.MANGA_SCRAPER_LEASE_SEC / 3):
                Download.objects.filter(pk=self.download_id, status=Status.RUNNING, attempts=self.attempt).update(
                    lease_expires_at=_lease_end()
                )
                connection.close()  # back to the pool until the next beat
        except Exception:  # a missed beat only risks a re-queue, which the claim makes harmless
            logger.warning("lease heartbeat of download %s failed", self.download_id, exc_info=True)
        finally:
            connection.close()
