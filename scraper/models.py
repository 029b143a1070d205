"""Scraper rows: sources (a site and its preset), downloads of one chapter, their pages and progress events.

A download walks queued → running → success | partial | error (or cancelled). State changes go
through `move_to`, a conditional UPDATE over the transitions written down below, so a worker
that lost its claim (the sweeper re-queued it, staff cancelled it) changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from translations.models import SOURCE_LANGUAGES, Chapter, Language, TranslationJob, chapter_slug


class ErrorCode(models.TextChoices):
    """Machine-readable reasons shown to staff beside the message (docs/scraper.md lists what to do)."""

    CHALLENGE = "challenge", "Anti-bot challenge: import browser cookies"
    BLOCKED_ADDRESS = "blocked_address", "Address not allowed (SSRF guard)"
    BAD_URL = "bad_url", "URL not usable"
    HTTP_STATUS = "http_status", "HTTP error status"
    RATE_LIMITED = "rate_limited", "Rate limited by the site"
    TIMEOUT = "timeout", "Timed out"
    CONNECTION = "connection", "Connection failed"
    TOO_LARGE = "too_large", "Response too large"
    PARSE = "parse", "Page layout not recognised"
    NOT_IMAGE = "not_image", "Not an image (hotlink protection?)"
    INVALID_IMAGE = "invalid_image", "Image corrupt, truncated or refused"
    IMPORT_REFUSED = "import_refused", "Library import refused"
    WORKER_LOST = "worker_lost", "Worker died repeatedly"
    PAGES_FAILED = "pages_failed", "Some pages failed"
    INTERNAL = "internal", "Internal error (a bug: see the worker log)"


class ChapterListMode(models.TextChoices):
    AUTO = "auto", "Automatic (page, then …/ajax/chapters/, then admin-ajax.php)"
    PAGE = "page", "In the manga page"
    AJAX = "ajax", "POST …/ajax/chapters/ (newer Madara)"
    ADMIN_AJAX = "admin_ajax", "POST admin-ajax.php manga_get_chapters (older Madara)"


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class Source(models.Model):
    """One site and its preset: where the catalog lives, which selectors and language it uses.

    Blank selectors mean the Madara defaults (scraper/providers/madara.py).
    """

    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=300, help_text="The site's root, e.g. https://example.org/")
    host = models.CharField(max_length=253, unique=True, editable=False)
    language = models.CharField(
        max_length=8,
        choices=[(lang.value, lang.label) for lang in SOURCE_LANGUAGES],
        default=Language.KOREAN,
        help_text="The language the pages are written in.",
    )
    catalog_path = models.CharField(max_length=100, default="/manga/", help_text="e.g. /manga/ or /webtoon/")
    chapter_list = models.CharField(max_length=16, choices=ChapterListMode.choices, default=ChapterListMode.AUTO)
    search_item_selector = models.CharField(max_length=200, blank=True)
    catalog_item_selector = models.CharField(max_length=200, blank=True)
    chapter_item_selector = models.CharField(max_length=200, blank=True)
    image_selector = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(
        max_length=400,
        blank=True,
        help_text="Blank: MANGA_SCRAPER_USER_AGENT. With imported cookies, the browser's.",
    )
    requests_per_second = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Blank: MANGA_SCRAPER_REQUESTS_PER_SEC."
    )
    concurrency = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Blank: MANGA_SCRAPER_CONCURRENCY.")
    enabled = models.BooleanField(default=True)
    # Relative to MANGA_DATA_DIR, always scraper/cookies/<id>.json; written only by the cookie import service.
    cookies_file = models.CharField(max_length=200, blank=True, editable=False)
    cookies_imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_ok = models.BooleanField(null=True, editable=False)
    last_check_code = models.CharField(max_length=32, blank=True, editable=False)
    last_check_message = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(requests_per_second__gt=0), name="source_rate_positive"),
            models.CheckConstraint(condition=Q(concurrency__gte=1), name="source_concurrency_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.host = url_host(self.base_url)
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        super().save(*args, **kwargs)

    def clean(self) -> None:
        parts = urlsplit(self.base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError({"base_url": "Give an http(s) URL with a host name."})
        if not self.catalog_path.startswith("/"):
            raise ValidationError({"catalog_path": "Start the path with /."})


class Download(models.Model):
    """One chapter fetched from a source into the library, page by page, imported at the end.

    queued → running → success | partial | error    (partial: some pages failed, nothing imported)
    running → queued                                 (the worker died; the sweeper re-queues it)
    queued | running → cancelled
    partial | error | cancelled → queued             (retry: only pages not stored are fetched)
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Imported"
        PARTIAL = "partial", "Some pages failed"
        ERROR = "error", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINAL = (Status.SUCCESS, Status.PARTIAL, Status.ERROR, Status.CANCELLED)

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="downloads")
    manga_url = models.URLField(max_length=500)
    manga_title = models.CharField(max_length=300)
    chapter_url = models.URLField(max_length=500)
    chapter_number = models.DecimalField(max_digits=8, decimal_places=2)
    chapter_title = models.CharField(max_length=300, blank=True)
    # Chain a translation job once imported (blank: download only).
    translate_to = models.CharField(max_length=8, blank=True)
    translator = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    error = models.TextField(blank=True)
    pages_total = models.PositiveIntegerField(default=0)
    pages_stored = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    # Claims by a worker; the claim's number guards every write of that worker.
    attempts = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_event_seq = models.PositiveIntegerField(default=0)
    chapter = models.ForeignKey(Chapter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    translation_job = models.ForeignKey(
        TranslationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    translation_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One active download per source chapter: a repeat request gets the active one back.
            models.UniqueConstraint(
                fields=["chapter_url"],
                condition=Q(status__in=["queued", "running"]),
                name="download_one_active_per_chapter",
            ),
            models.CheckConstraint(condition=Q(chapter_number__gte=0), name="download_number_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="download_status_lease")]

    def __str__(self) -> str:
        return f"Download {self.pk} ({self.manga_title} chapter {chapter_slug(self.chapter_number)}, {self.status})"

    def move_to(self, status: str, *, where: dict | None = None, **fields) -> bool:
        sources = DOWNLOAD_TRANSITIONS[status]
        changes = {"status": status, **fields}
        now = timezone.now()
        if status == self.Status.RUNNING:
            changes.setdefault("started_at", now)
        if status in self.FINAL:
            changes.setdefault("finished_at", now)
        updated = Download.objects.filter(pk=self.pk, status__in=sources, **(where or {})).update(**changes)
        if updated:
            for name, value in changes.items():
                setattr(self, name, value)
        return bool(updated)


_S = Download.Status
# Each target status → the statuses it may be reached from.
DOWNLOAD_TRANSITIONS: dict[str, tuple[str, ...]] = {
    _S.QUEUED: (_S.RUNNING, _S.PARTIAL, _S.ERROR, _S.CANCELLED),
    _S.RUNNING: (_S.QUEUED,),
    _S.SUCCESS: (_S.RUNNING,),
    _S.PARTIAL: (_S.RUNNING,),
    _S.ERROR: (_S.QUEUED, _S.RUNNING),
    _S.CANCELLED: (_S.QUEUED, _S.RUNNING),
}


class DownloadPage(models.Model):
    """One image of a download, staged under data/scraper/downloads/<id>/ until the chapter is imported."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STORED = "stored", "Stored"
        FAILED = "failed", "Failed"

    download = models.ForeignKey(Download, on_delete=models.CASCADE, related_name="pages")
    index = models.PositiveIntegerField(help_text="1-based reading order")
    url = models.URLField(max_length=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    staged_path = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    error = models.TextField(blank=True)
    fetches = models.PositiveIntegerField(default=0)
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["download", "index"]
        constraints = [
            models.UniqueConstraint(fields=["download", "index"], name="download_page_unique_index"),
            models.CheckConstraint(condition=Q(index__gte=1), name="download_page_index_from_one"),
        ]

    def __str__(self) -> str:
        return f"{self.download} — page {self.index} ({self.status})"


class DownloadEvent(models.Model):
    """One progress event of a download, numbered per download from 1 (the same scheme as JobEvent)."""

    class Type(models.TextChoices):
        QUEUED = "download.queued", "Download queued"
        STARTED = "download.started", "Download started"
        PAGE_STORED = "download.page_stored", "Page stored"
        PAGE_FAILED = "download.page_failed", "Page failed"
        FINISHED = "download.finished", "Download finished"

    download = models.ForeignKey(Download, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["download", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["download", "seq"], name="download_event_unique_seq"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="download_event_seq_from_one"),
        ]

    def __str__(self) -> str:
        return f"Download {self.download_id} #{self.seq} {self.type}"


class HostThrottle(models.Model):
    """When the next request to a host may start: the rate limit shared by every process."""

    host = models.CharField(max_length=253, primary_key=True)
    next_request_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.host} (next at {self.next_request_at:%H:%M:%S.%f})"
