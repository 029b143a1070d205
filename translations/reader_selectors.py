"""Reads for the library, manga and reader pages: a fixed number of queries whatever the library's size."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils.translation import gettext, gettext_noop

from translations import access, storage
from translations.models import (
    Chapter,
    JobEvent,
    Language,
    Manga,
    Page,
    PageResult,
    ReadingPosition,
    TranslationJob,
    Translator,
)

LIBRARY_STATES = ("translated", "running", "failed", "untranslated")
LIBRARY_SORTS = ("title", "updated")


# --- Jobs as the pages show them ---------------------------------------------------------


@dataclass(frozen=True)
class JobState:
    """The latest job of one chapter in one language, as the manga page shows it."""

    job_id: int
    chapter_id: int
    target_language: str
    translator: str
    status: str
    pages_total: int
    pages_succeeded: int
    pages_failed: int
    pages_no_text: int
    pages_done: int  # every page with a final state (also cancelled)
    current_page: int | None
    current_stage: str
    last_event_seq: int
    requested_by_id: int | None = None

    @property
    def cleaning(self) -> bool:
        return self.translator == Translator.NONE

    @property
    def active(self) -> bool:
        return self.status in TranslationJob.ACTIVE

    @property
    def finished(self) -> bool:
        return not self.active

    @property
    def percent(self) -> int:
        return round(100 * self.pages_done / self.pages_total) if self.pages_total else 0

    @property
    def status_label(self) -> str:
        """What the state is called on the page; cleaning mode is never called a translation."""
        return gettext(_STATUS_LABELS[self.cleaning][self.status])

    @property
    def counts_label(self) -> str:
        parts = [f"{self.pages_succeeded}/{self.pages_total}"]
        if self.pages_no_text:
            parts.append(gettext("no text %(n)s") % {"n": self.pages_no_text})
        if self.pages_failed:
            parts.append(gettext("failed %(n)s") % {"n": self.pages_failed})
        return ", ".join(parts)

    @property
    def language_label(self) -> str:
        return Language(self.target_language).label if self.target_language in Language.values else self.target_language


_STATUS = TranslationJob.Status
# Marked for translation here, translated when shown: a page lists hundreds of jobs.
_STATUS_LABELS: dict[bool, dict[str, str]] = {
    True: {
        _STATUS.QUEUED: gettext_noop("Cleaning queued"),
        _STATUS.RUNNING: gettext_noop("Cleaning"),
        _STATUS.SUCCESS: gettext_noop("Cleaned"),
        _STATUS.PARTIAL: gettext_noop("Cleaned, some pages failed"),
        _STATUS.ERROR: gettext_noop("Cleaning failed"),
        _STATUS.CANCELLED: gettext_noop("Cleaning cancelled"),
    },
    False: {
        _STATUS.QUEUED: gettext_noop("Queued"),
        _STATUS.RUNNING: gettext_noop("Translating"),
        _STATUS.SUCCESS: gettext_noop("Translated"),
        _STATUS.PARTIAL: gettext_noop("Translated, some pages failed"),
        _STATUS.ERROR: gettext_noop("Translation failed"),
        _STATUS.CANCELLED: gettext_noop("Cancelled"),
    },
}


def job_status_labels(*, cleaning: bool) -> dict[str, str]:
    return {status: gettext(label) for status, label in _STATUS_LABELS[cleaning].items()}


def _latest_jobs(jobs: QuerySet[TranslationJob]) -> QuerySet[TranslationJob]:
    """Of `jobs`, the newest per chapter and language, with the running page and stage annotated."""
    newer = TranslationJob.objects.filter(
        chapter=OuterRef("chapter"), target_language=OuterRef("target_language"), created_at__gt=OuterRef("created_at")
    )
    progress = JobEvent.objects.filter(
        job=OuterRef("pk"), type__in=(JobEvent.Type.PAGE_STARTED, JobEvent.Type.PAGE_STAGE)
    )
    stage = JobEvent.objects.filter(job=OuterRef("pk"), type=JobEvent.Type.PAGE_STAGE).order_by("-seq")
    done = PageResult.objects.filter(job=OuterRef("pk"), status__in=PageResult.DONE).order_by().values("job")
    return (
        jobs.filter(~Exists(newer))
        .annotate(
            current_page=Subquery(progress.order_by("-seq").annotate(page=KT("payload__page")).values("page")[:1]),
            current_stage=Subquery(stage.annotate(stage=KT("payload__stage")).values("stage")[:1]),
            pages_done=Subquery(done.annotate(n=Count("pk")).values("n")),
        )
        .order_by("chapter_id", "target_language")
    )


def _job_state(job: TranslationJob) -> JobState:
    active = job.status in TranslationJob.ACTIVE
    current_page = getattr(job, "current_page", None)
    return JobState(
        job_id=job.pk,
        chapter_id=job.chapter_id,
        target_language=job.target_language,
        translator=job.translator,
        status=job.status,
        pages_total=job.pages_total,
        pages_succeeded=job.pages_succeeded,
        pages_failed=job.pages_failed,
        pages_no_text=job.pages_no_text,
        pages_done=getattr(job, "pages_done", None) or 0,
        current_page=int(current_page) if active and current_page not in (None, "") else None,  # type: ignore[arg-type]
        current_stage=(getattr(job, "current_stage", None) or "") if active else "",
        last_event_seq=job.last_event_seq,
        requested_by_id=job.requested_by_id,
    )


# --- Library -------------------------------------------------------------------------------


def library_manga(
    user, *, query: str = "", source: str = "", target: str = "", state: str = "", sort: str = "title"
) -> QuerySet[Manga]:
    """The manga the user may read, searched and filtered, each with its chapter count.

    "Recently updated" orders by `Manga.updated_at`, which a new chapter and a job queued or
    finished move forward (signals.py), so the order needs no subquery per manga.
    """
    jobs = TranslationJob.objects.filter(chapter__manga=OuterRef("pk"))
    if target:
        jobs = jobs.filter(target_language=target)
    mangas = access.readable_manga(user).annotate(chapter_count=Count("chapters"))
    if query:
        mangas = mangas.filter(Q(title__icontains=query) | Q(slug__icontains=query))
    if source:
        mangas = mangas.filter(source_language=source)
    if target and state != "untranslated":
        mangas = mangas.filter(Exists(jobs))
    if state == "translated":
        mangas = mangas.filter(Exists(jobs.filter(status=TranslationJob.Status.SUCCESS)))
    elif state == "running":
        mangas = mangas.filter(Exists(jobs.filter(status__in=TranslationJob.ACTIVE)))
    elif state == "failed":
        mangas = mangas.filter(
            Exists(jobs.filter(status__in=(TranslationJob.Status.PARTIAL, TranslationJob.Status.ERROR)))
        )
    elif state == "untranslated":
        mangas = mangas.filter(~Exists(jobs))
    return mangas.order_by("-updated_at", "title") if sort == "updated" else mangas.order_by("title", "pk")


def continue_reading(user, *, limit: int = 6) -> list[ReadingPosition]:
    if not user.is_authenticated:
        return []
    positions = ReadingPosition.objects.filter(user=user, manga__in=access.readable_manga(user))
    return list(positions.select_related("manga", "chapter").order_by("-updated_at")[:limit])


# --- Manga page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChapterRow:
    chapter: Chapter
    page_count: int
    jobs: tuple[JobState, ...]  # the latest job per target language

    @property
    def active_job(self) -> JobState | None:
        return next((job for job in self.jobs if job.active), None)


def manga_chapters(manga: Manga, *, chapters: list[Chapter]) -> list[ChapterRow]:
    """`chapters` (one page of the manga's list) with their page counts and latest jobs."""
    ids = [chapter.pk for chapter in chapters]
    counts = dict(
        Page.objects.filter(chapter_id__in=ids)
        .values("chapter_id")
        .annotate(n=Count("pk"))
        .values_list("chapter_id", "n")
    )
    states: dict[int, list[JobState]] = {}
    for job in _latest_jobs(TranslationJob.objects.filter(chapter_id__in=ids)):
        states.setdefault(job.chapter_id, []).append(_job_state(job))
    return [ChapterRow(chapter, counts.get(chapter.pk, 0), tuple(states.get(chapter.pk, ()))) for chapter in chapters]


def reading_position(user, manga: Manga) -> ReadingPosition | None:
    if not user.is_authenticated:
        return None
    return ReadingPosition.objects.filter(user=user, manga=manga).select_related("chapter").first()


# --- Reader --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderPage:
    page: Page
    state: str  # "original" (no job), pending, running, translated, no_text, failed, cancelled, cleaning
    result_id: int | None
    version: int  # the result's attempts: a new output gets a new URL
    error: str
    failure_stage: str
    has_output: bool


@dataclass(frozen=True)
class ReaderChapter:
    manga: Manga
    chapter: Chapter
    pages: list[ReaderPage]
    job: JobState | None
    languages: list[JobState]  # the latest job of each language this chapter has
    previous: Chapter | None
    next: Chapter | None


def page_state(result: PageResult | None, *, cleaning: bool) -> tuple[str, str, str, bool]:
    """(state, error, failure_stage, has_output) of one page; a success whose file is gone is a failure."""
    if result is None:
        return "original", "", "", False
    status = result.status
    if status == PageResult.Status.SUCCEEDED:
        if not _stored(result.output_path):
            return "failed", "The translated page file is missing from storage.", "store", False
        return ("cleaning" if cleaning else "translated"), "", "", True
    return status, result.error, result.failure_stage, False


def _stored(relative: str) -> bool:
    try:
        return bool(relative) and storage.resolve_path(relative).is_file()
    except storage.StorageError:
        return False


def reader_chapter(manga: Manga, chapter: Chapter, *, language: str | None) -> ReaderChapter:
    """The chapter's pages with the state of each in the chosen language's latest job.

    The job (and its last event seq) is read before the page results, so a client that resumes
    live events after that seq may see an event twice but never misses one.
    """
    languages = [_job_state(job) for job in _latest_jobs(TranslationJob.objects.filter(chapter=chapter))]
    wanted = language or manga.target_language
    job = next((state for state in languages if state.target_language == wanted), None)
    if job is None and not language and languages:
        job = max(languages, key=lambda state: state.job_id)
    results: dict[int, PageResult] = {}
    if job is not None:
        results = {result.page_id: result for result in PageResult.objects.filter(job_id=job.job_id)}
    pages = []
    for page in chapter.pages.order_by("index"):
        result = results.get(page.pk)
        state, error, stage, has_output = page_state(result, cleaning=bool(job and job.cleaning))
        pages.append(
            ReaderPage(
                page=page,
                state=state,
                result_id=result.pk if result else None,
                version=result.attempts if result else 0,
                error=error,
                failure_stage=stage,
                has_output=has_output,
            )
        )
    siblings = manga.chapters.exclude(pk=chapter.pk)
    previous = siblings.filter(number__lt=chapter.number).order_by("-number").first()
    following = siblings.filter(number__gt=chapter.number).order_by("number").first()
    return ReaderChapter(manga, chapter, pages, job, languages, previous, following)


def chapter_by_slug(manga: Manga, slug: str) -> Chapter | None:
    try:
        number = Decimal(slug)
    except ArithmeticError:
        return None
    if not number.is_finite() or number < 0 or number >= 10**6:
        return None
    return manga.chapters.filter(number=number).first()
