"""The library (Manga → Chapter → Page) and its translation runs (TranslationJob → PageResult).

State transitions are written down in JOB_TRANSITIONS / PAGE_TRANSITIONS and applied only
through `move_to`, a conditional UPDATE: a worker that loses a race changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from translations import storage
from translations.pipeline import languages
from translations.pipeline import translators as pipeline_translators


class Language(models.TextChoices):
    """Labels for the pipeline's language codes (pipeline/languages.py); a test checks they agree."""

    JAPANESE = "ja", "Japanese"
    KOREAN = "ko", "Korean"
    CHINESE = "zh", "Chinese"
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    PORTUGUESE = "pt", "Portuguese"
    ITALIAN = "it", "Italian"
    RUSSIAN = "ru", "Russian"
    INDONESIAN = "id", "Indonesian"
    VIETNAMESE = "vi", "Vietnamese"
    THAI = "th", "Thai"


# Languages the pipeline can read (detection + OCR exist for them).
SOURCE_LANGUAGES = tuple(Language(code) for code in languages.SOURCE_LANGUAGES)


class Translator(models.TextChoices):
    """Labels for the pipeline's translator names (pipeline/translators/__init__.py)."""

    GEMINI_HQ = pipeline_translators.GEMINI_HQ, "Gemini (page image + text)"
    GEMINI = pipeline_translators.GEMINI, "Gemini (text only)"
    OPENAI_COMPAT = pipeline_translators.OPENAI_COMPAT, "OpenAI-compatible server (Ollama, vLLM, OpenRouter…)"
    NONE = pipeline_translators.NONE, "Cleaning only (no translation)"
    # Letters a fixed string into every balloon: exercises the whole pipeline offline (tests, demos).
    TEST = pipeline_translators.TEST, "Test lettering (offline)"


class ExecutionBackend(models.TextChoices):
    LOCAL = "local", "In the worker"
    CLOUDRUN = "cloudrun", "Compute service"


class Manga(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=300)
    source_language = models.CharField(max_length=8, choices=Language.choices, default=Language.JAPANESE)
    target_language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    source_url = models.URLField(max_length=500, blank=True)
    # Path relative to MANGA_DATA_DIR, like Page.image.
    cover = models.CharField(max_length=500, blank=True)
    # Private manga are read by staff only (translations/access.py).
    private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Also moved forward by a new chapter and a job queued or finished (signals.py): the library's
    # "recently updated".
    updated_at = models.DateTimeField(auto_now=True)
    # One more on every change the reader pages show: the manga, its chapters, pages, jobs, results
    # and job events (signals.py, `bump_version`). The key of their cached fragments (views/fragments.py).
    version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "manga"
        indexes = [models.Index(fields=["-updated_at"], name="manga_recently_updated")]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_language__in=[lang.value for lang in SOURCE_LANGUAGES]),
                name="manga_source_language_readable",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # `version` moves only by `bump_version` (UPDATE … + 1): a save from a stale copy (the admin's
        # form, a loaded row) must not move it back to a value whose cached parts show older data.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name for field in self._meta.concrete_fields if not field.primary_key and field.name != "version"
            ]
        super().save(*args, **kwargs)

    @staticmethod
    def bump_version(**where) -> None:
        """Move `version` forward for the manga matching `where` (`pk=…`, `chapters=…`, `chapters__jobs=…`).

        Call it in the transaction of the change, so a reader never sees the new version without it.
        """
        Manga.objects.filter(**where).update(version=F("version") + 1)


class Chapter(models.Model):
    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="chapters")
    # Decimal, not float: chapters 10.5 and 10.50 are the same chapter, 10.1 sorts before 10.2.
    number = models.DecimalField(max_digits=8, decimal_places=2)
    title = models.CharField(max_length=300, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["manga", "number"]
        constraints = [
            models.UniqueConstraint(fields=["manga", "number"], name="chapter_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=0), name="chapter_number_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.manga} — chapter {self.slug}"

    @property
    def slug(self) -> str:
        return chapter_slug(self.number)


def chapter_slug(number: Decimal) -> str:
    """'1' for 1.00, '10.5' for 10.50: the folder name under data/raw/<manga>/."""
    return format(Decimal(number).normalize(), "f")


class Page(models.Model):
    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="pages")
    index = models.PositiveIntegerField(help_text="1-based reading order")
    # Path relative to MANGA_DATA_DIR: raw/<manga-slug>/<chapter-slug>/NNN.ext
    image = models.CharField(max_length=500)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["chapter", "index"]
        constraints = [
            models.UniqueConstraint(fields=["chapter", "index"], name="page_unique_index"),
            models.CheckConstraint(condition=Q(index__gte=1), name="page_index_from_one"),
            models.CheckConstraint(condition=Q(width__gte=1, height__gte=1), name="page_has_pixels"),
        ]

    def __str__(self) -> str:
        return f"{self.chapter} — page {self.index}"

    @property
    def thumbnail(self) -> str:
        """Relative path of the page's JPEG thumbnail (made on first request)."""
        chapter = self.chapter
        return storage.page_path(storage.THUMB_DIR, chapter.manga.slug, chapter.slug, self.index, "jpg")

    @property
    def cover_thumbnail(self) -> str:
        """Relative path of the page's small WebP thumbnail, the library's cover (made on first request)."""
        chapter = self.chapter
        return storage.page_path(storage.THUMB_DIR, chapter.manga.slug, chapter.slug, self.index, "webp")


class TranslationJob(models.Model):
    """One translation run of one chapter into one language.

    queued → running → success | partial | error   (a worker finished every page)
    queued | running → cancelled                    (staff or API cancelled it)
    success | partial | error → queued              (failed or chosen pages are retried)
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        ERROR = "error", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    chapter = models.ForeignKey(Chapter, on_delete=models.PROTECT, related_name="jobs")
    target_language = models.CharField(max_length=8, choices=Language.choices)
    translator = models.CharField(max_length=16, choices=Translator.choices)
    backend = models.CharField(max_length=16, choices=ExecutionBackend.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pages_total = models.PositiveIntegerField(default=0)
    pages_succeeded = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    pages_no_text = models.PositiveIntegerField(default=0)
    request_bytes_total = models.PositiveBigIntegerField(default=0)
    response_bytes_total = models.PositiveBigIntegerField(default=0)
    remote_elapsed_ms_total = models.PositiveBigIntegerField(default=0)
    translate_elapsed_ms_total = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # The seq of the job's last JobEvent; incremented in the transaction that writes the event.
    last_event_seq = models.PositiveIntegerField(default=0)
    # When a task for this job was last handed to the broker (the sweeper's stall rule).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A chapter with a queued or running job refuses a second one (DESIGN §6: 409).
            models.UniqueConstraint(
                fields=["chapter"],
                condition=Q(status__in=["queued", "running"]),
                name="job_one_active_per_chapter",
            ),
            models.CheckConstraint(
                condition=Q(pages_succeeded__lte=models.F("pages_total"))
                & Q(pages_failed__lte=models.F("pages_total")),
                name="job_counters_within_total",
            ),
            models.CheckConstraint(
                condition=Q(pages_no_text__lte=models.F("pages_total")), name="job_no_text_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.chapter}, {self.target_language}, {self.status})"

    @property
    def transport_ratio(self) -> float | None:
        """Share of translate time spent on the remote service (DESIGN §6 audit)."""
        if not self.translate_elapsed_ms_total:
            return None
        return self.remote_elapsed_ms_total / self.translate_elapsed_ms_total

    def move_to(self, status: str, *, where: dict | None = None, **fields) -> bool:
        return _move(self, JOB_TRANSITIONS, status, fields, where, finished=status in JOB_FINAL)

    def refresh_counters(self) -> None:
        """Derive the counters and audit totals from the page results (call inside a transaction).

        Derived, never incremented: a page delivered twice cannot be counted twice. The row is
        updated, and so is this object.
        """
        page = PageResult.Status
        totals = PageResult.objects.filter(job_id=self.pk).aggregate(
            pages_total=Count("pk"),
            pages_succeeded=Count("pk", filter=Q(status=page.SUCCEEDED)),
            pages_failed=Count("pk", filter=Q(status=page.FAILED)),
            pages_no_text=Count("pk", filter=Q(status=page.NO_TEXT)),
            request_bytes_total=Coalesce(Sum("request_bytes"), 0),
            response_bytes_total=Coalesce(Sum("response_bytes"), 0),
            remote_elapsed_ms_total=Coalesce(Sum("remote_elapsed_ms"), 0),
            translate_elapsed_ms_total=Coalesce(Sum("translate_elapsed_ms"), 0),
        )
        TranslationJob.objects.filter(pk=self.pk).update(**totals)
        for name, value in totals.items():
            setattr(self, name, value)


class PageResult(models.Model):
    """One page of one job.

    pending → running → succeeded | no_text | failed
    running → pending                               (a worker died mid-page; the sweeper re-queues it)
    running → failed                                (the sweeper gives up on a page that kills workers)
    succeeded | no_text | failed | cancelled → pending   (retry)
    pending | running → cancelled                   (the job was cancelled)

    `no_text`: the pipeline found nothing to translate; the page is done and shown as the
    original, never counted as failed or as translated.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NO_TEXT = "no_text", "No text"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    DONE = (Status.SUCCEEDED, Status.NO_TEXT, Status.FAILED, Status.CANCELLED)

    job = models.ForeignKey(TranslationJob, on_delete=models.CASCADE, related_name="page_results")
    page = models.ForeignKey(Page, on_delete=models.PROTECT, related_name="results")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    failure_stage = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    # Path relative to MANGA_DATA_DIR: output/<manga-slug>/<chapter-slug>/NNN.ext
    output_path = models.CharField(max_length=500, blank=True)
    regions = models.JSONField(default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="stage name → milliseconds")
    request_bytes = models.PositiveBigIntegerField(default=0)
    response_bytes = models.PositiveBigIntegerField(default=0)
    remote_elapsed_ms = models.PositiveBigIntegerField(default=0)
    translate_elapsed_ms = models.PositiveBigIntegerField(default=0)
    models_used = models.JSONField(default=dict, blank=True)
    fallback_used = models.BooleanField(default=False)
    # Set when a worker claims the page and extended by its heartbeat; past it (or unset while
    # running), the sweeper re-queues the page.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "page__index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "page"], name="result_unique_page_per_job"),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | ~Q(output_path=""),
                name="result_success_has_output",
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="result_status_lease")]

    def __str__(self) -> str:
        return f"{self.page} in job {self.job_id} ({self.status})"

    def move_to(self, status: str, *, where: dict | None = None, **fields) -> bool:
        return _move(self, PAGE_TRANSITIONS, status, fields, where, finished=status in PAGE_FINAL)


JOB_TRANSITIONS: dict[str, tuple[str, ...]] = {
    TranslationJob.Status.QUEUED: (
        TranslationJob.Status.SUCCESS,
        TranslationJob.Status.PARTIAL,
        TranslationJob.Status.ERROR,
    ),
    TranslationJob.Status.RUNNING: (TranslationJob.Status.QUEUED,),
    TranslationJob.Status.SUCCESS: (TranslationJob.Status.RUNNING,),
    TranslationJob.Status.PARTIAL: (TranslationJob.Status.RUNNING,),
    TranslationJob.Status.ERROR: (TranslationJob.Status.RUNNING,),
    TranslationJob.Status.CANCELLED: (TranslationJob.Status.QUEUED, TranslationJob.Status.RUNNING),
}
# A cancelled job may be resumed too (its cancelled and failed pages are retried).
JOB_TRANSITIONS[TranslationJob.Status.QUEUED] += (TranslationJob.Status.CANCELLED,)
JOB_FINAL = {
    TranslationJob.Status.SUCCESS,
    TranslationJob.Status.PARTIAL,
    TranslationJob.Status.ERROR,
    TranslationJob.Status.CANCELLED,
}

PAGE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    PageResult.Status.PENDING: (
        PageResult.Status.RUNNING,
        PageResult.Status.SUCCEEDED,
        PageResult.Status.NO_TEXT,
        PageResult.Status.FAILED,
        PageResult.Status.CANCELLED,
    ),
    PageResult.Status.RUNNING: (PageResult.Status.PENDING,),
    PageResult.Status.SUCCEEDED: (PageResult.Status.RUNNING,),
    PageResult.Status.NO_TEXT: (PageResult.Status.RUNNING,),
    PageResult.Status.FAILED: (PageResult.Status.RUNNING,),
    PageResult.Status.CANCELLED: (PageResult.Status.PENDING, PageResult.Status.RUNNING),
}
PAGE_FINAL = {
    PageResult.Status.SUCCEEDED,
    PageResult.Status.NO_TEXT,
    PageResult.Status.FAILED,
    PageResult.Status.CANCELLED,
}


def _move(
    obj: models.Model, transitions: dict, status: str, fields: dict, where: dict | None, *, finished: bool
) -> bool:
    """Apply one documented transition with a conditional UPDATE; False if another process won.

    `transitions` maps each target status to the statuses it may be reached from; `where` adds
    conditions (a worker finishing a page passes its claim, `attempts`, so a stale worker loses).
    """
    sources = transitions.get(status)
    if sources is None:
        raise ValueError(f"{status!r} is not a status of {type(obj).__name__}")
    now = timezone.now()
    changes = {"status": status, **fields}
    if status == "running":
        changes.setdefault("started_at", now)
    if finished:
        changes.setdefault("finished_at", now)
    updated = type(obj)._default_manager.filter(pk=obj.pk, status__in=sources, **(where or {})).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(obj, name, value)
    return bool(updated)


class JobEvent(models.Model):
    """One progress event of a job (DESIGN §7), numbered per job from 1.

    The database is the truth and the channel layer only the doorbell: a WebSocket client
    that missed a doorbell, or reconnects, reads what it missed from here.
    """

    class Type(models.TextChoices):
        JOB_QUEUED = "job.queued", "Job queued"
        JOB_STARTED = "job.started", "Job started"
        PAGE_STARTED = "page.started", "Page started"
        PAGE_STAGE = "page.stage", "Page stage"
        PAGE_SUCCEEDED = "page.succeeded", "Page succeeded"
        PAGE_FAILED = "page.failed", "Page failed"
        JOB_FINISHED = "job.finished", "Job finished"

    job = models.ForeignKey(TranslationJob, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When a progress WebSocket first sent it to a client (the progress-delay figure).
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="event_unique_seq_per_job"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="event_seq_from_one"),
        ]

    def __str__(self) -> str:
        return f"Job {self.job_id} #{self.seq} {self.type}"


class AuditEntry(models.Model):
    """One staff action (request, retry, cancel…) from any edge: admin, API or command line.

    Kept `MANGA_AUDIT_RETENTION_DAYS` (DESIGN §10: 30 days); the sweeper removes older entries.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # e.g. "job.request", "job.retry_failed", "page.retry", "job.cancel"
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"


class ApiToken(models.Model):
    """A user's key to the API (`Authorization: Bearer <token>`), stored as its SHA-256 only.

    The token is shown once, when made (translations/services/tokens.py). Revoking keeps the
    row, so the admin and the owner still see when it was made, last used and revoked.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    NAME_LENGTH = 100
    name = models.CharField(max_length=NAME_LENGTH, help_text="what the token is for, e.g. 'backup script'")
    # The first characters of the token, to tell tokens apart in lists; not enough to use one.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, {self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class ReadingPosition(models.Model):
    """Where a signed-in reader is in one manga: chapter, page and how they read it (remembered server side)."""

    class Mode(models.TextChoices):
        STRIP = "strip", "Webtoon strip"
        PAGED = "paged", "Paged"

    class Direction(models.TextChoices):
        RTL = "rtl", "Right to left"
        LTR = "ltr", "Left to right"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="reading_positions")
    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="+")
    page = models.PositiveIntegerField(default=1, help_text="1-based page index")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.PAGED)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.RTL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "manga"], name="position_one_per_user_manga"),
            models.CheckConstraint(condition=Q(page__gte=1), name="position_page_from_one"),
        ]
        indexes = [models.Index(fields=["user", "-updated_at"], name="position_recent_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.manga}, chapter {self.chapter.slug} page {self.page}"


class ComputeCall(models.Model):
    """One HTTP try to the compute service, as the worker saw it: the source of the cold-start,
    503, auth-failure and retry figures (/metrics, the staff dashboard).

    Written by `translations.executors.compute_send`; kept MANGA_METRICS_RETENTION_DAYS. Pruned
    rows leave their counts in `MetricOffset`, so the exported counters never go down.
    """

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"  # any HTTP status, in status_code
        TIMEOUT = "timeout", "Timed out"
        CONNECTION_ERROR = "connection_error", "Could not connect"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(default=0, help_text="0 when the service did not answer")
    elapsed_ms = models.PositiveIntegerField(default=0)
    cold_start = models.BooleanField(default=False, help_text="the service said this was its first request")
    attempt = models.PositiveSmallIntegerField(default=1, help_text="1 for a page's first try, 2+ for retries")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.status_code} {self.elapsed_ms} ms"


class MetricOffset(models.Model):
    """What pruned rows had added to one exported series (a counter, or a histogram bucket/sum/count)."""

    series = models.CharField(max_length=200, unique=True)
    value = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.series} += {self.value}"


class GlossaryTerm(models.Model):
    """One entry of a manga's learned glossary (docs/glossary.md): proposed by the translator, decided by staff.

    Accepted terms go into every later prompt for the manga, beside its `dict/glossaries/<slug>.json`
    (and win over it for the same source). A rejected term is kept, so the translator's next proposal of
    the same source is ignored instead of asking staff again.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class Kind(models.TextChoices):
        CHARACTER = "character", "Character name"
        TERM = "term", "Term"

    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="glossary_terms")
    source = models.CharField(max_length=200, help_text="as it appears on the page, in the source language")
    target = models.CharField(max_length=200, help_text="the translation every page must use")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TERM)
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    # Where the translator met it first (None for imported or hand-written terms).
    proposed_on = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["manga", "status", "source"]
        constraints = [
            models.UniqueConstraint(fields=["manga", "source"], name="glossary_term_unique_source"),
            models.CheckConstraint(condition=~Q(source="") & ~Q(target=""), name="glossary_term_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.status})"
