"""The library (`/`) and a manga's page (`/manga/<slug>/`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from translations import access
from translations.forms import NewMangaUploadForm, TranslateForm, UploadForm, target_language_choices
from translations.models import SOURCE_LANGUAGES, Language, Manga
from translations.reader_selectors import (
    LIBRARY_SORTS,
    LIBRARY_STATES,
    ChapterRow,
    JobState,
    continue_reading,
    job_status_labels,
    library_manga,
    manga_chapters,
    reading_position,
)
from translations.selectors import may_watch_jobs
from translations.views import fragments
from translations.views.links import url_maker
from translations.views.lookups import login_needed, readable_manga_or_404

LIBRARY_PAGE_SIZE = 48
CHAPTERS_PAGE_SIZE = 100


def library(request) -> HttpResponse:
    if (redirect := login_needed(request)) is not None:
        return redirect
    params = request.GET
    query = params.get("q", "").strip()[:200]
    source = params.get("source", "") if params.get("source") in Language.values else ""
    target = params.get("target", "") if params.get("target") in Language.values else ""
    state = params.get("state", "") if params.get("state") in LIBRARY_STATES else ""
    sort = params.get("sort", "") if params.get("sort") in LIBRARY_SORTS else "title"
    filtered = bool(query or source or target or state)
    is_staff = access.is_staff_user(request.user)
    version = None if query else fragments.library_version()  # read before what it stands for
    number = fragments.requested_page(params.get("page"))
    choices = {"query": query, "source": source, "target": target, "state": state, "sort": sort, "filtered": filtered}

    def grid() -> SafeString:
        mangas = library_manga(request.user, query=query, source=source, target=target, state=state, sort=sort)
        page = Paginator(mangas, LIBRARY_PAGE_SIZE).get_page(number)
        recent = [] if filtered else list(library_manga(request.user, sort="updated")[:6])
        context = {"page": page, "recent": recent, "is_staff": is_staff, **choices}
        return mark_safe(render_to_string("reader/_library_grid.html", context))  # noqa: S308 (our template's output)

    # Free-text searches are not kept: their keys would have no end.
    grid_key = (version, source, target, state, sort, number, is_staff)
    context = {
        **choices,
        "grid_html": grid() if query else fragments.cached("library-grid", grid_key, grid),
        "source_choices": [(lang.value, lang.label) for lang in SOURCE_LANGUAGES],
        "target_choices": target_language_choices(),
        "continue_reading": [] if filtered else continue_reading(request.user),
        "is_staff": is_staff,
    }
    if context["is_staff"]:
        context["new_manga_form"] = NewMangaUploadForm(initial={"number": 1})
        context["new_manga_action"] = reverse("manga-upload")
    return render(request, "reader/library.html", context)


def manga_detail(request, slug: str) -> HttpResponse:
    if (redirect := login_needed(request)) is not None:
        return redirect
    manga = readable_manga_or_404(request, slug)
    return render(request, "reader/manga.html", manga_context(request, manga))


@dataclass(frozen=True)
class JobItem:
    """One language's latest job in a chapter row, with its links and labels."""

    state: JobState
    read_url: str
    cbz_url: str
    script_url: str
    script_json_url: str
    cancel_url: str
    retry_url: str
    stage_label: str


@dataclass(frozen=True)
class ChapterItem:
    row: ChapterRow
    label: str
    progress_label: str
    read_url: str
    translate_url: str
    delete_url: str
    jobs: tuple[JobItem, ...]


def chapter_table(manga: Manga, number: int, *, is_staff: bool) -> SafeString:
    """The chapter table of one page of chapters, with each language's latest job, and its pagination."""
    chapters = Paginator(manga.chapters.order_by("number"), CHAPTERS_PAGE_SIZE).get_page(number)
    rows = manga_chapters(manga, chapters=list(chapters.object_list))
    context = {"items": chapter_items(manga, rows), "chapters_page": chapters, "is_staff": is_staff}
    return mark_safe(render_to_string("reader/_chapters.html", context))  # noqa: S308 (our template's output)


def chapter_items(manga: Manga, rows: list[ChapterRow]) -> list[ChapterItem]:
    read = url_maker("reader", manga.slug)
    translate = url_maker("chapter-translate", manga.slug)
    delete = url_maker("chapter-delete", manga.slug)
    cbz, script, script_json = url_maker("job-cbz"), url_maker("job-script-text"), url_maker("job-script-json")
    cancel, retry = url_maker("job-cancel"), url_maker("job-retry-failed")
    chapter_label, progress_label = gettext("Chapter %(number)s"), gettext("Progress of chapter %(number)s")
    stage_label = gettext("page %(page)s: %(stage)s")
    items = []
    for row in rows:
        slug = row.chapter.slug
        jobs = tuple(
            JobItem(
                state=job,
                read_url=f"{read(slug)}?lang={job.target_language}",
                cbz_url=cbz(job.job_id),
                script_url=script(job.job_id),
                script_json_url=script_json(job.job_id),
                cancel_url=cancel(job.job_id),
                retry_url=retry(job.job_id),
                stage_label=stage_label % {"page": job.current_page, "stage": job.current_stage}
                if job.current_page
                else "",
            )
            for job in row.jobs
        )
        items.append(
            ChapterItem(
                row=row,
                label=chapter_label % {"number": slug},
                progress_label=progress_label % {"number": slug},
                read_url=read(slug),
                translate_url=translate(slug),
                delete_url=delete(slug),
                jobs=jobs,
            )
        )
    return items


def manga_context(request, manga: Manga, *, upload_form: UploadForm | None = None) -> dict:
    """The manga page's context; the upload view passes its bound form back with the errors."""
    is_staff = access.is_staff_user(request.user)
    number = fragments.requested_page(request.GET.get("page"))
    position = reading_position(request.user, manga)
    if is_staff and upload_form is None:
        last = manga.chapters.order_by("-number").values_list("number", flat=True).first()
        upload_form = UploadForm(initial={"number": int(last) + 1 if last is not None else 1})
    chapters_html, first_chapter = fragments.cached(
        "manga-chapters",
        (*fragments.manga_key(manga), number, is_staff),
        lambda: (chapter_table(manga, number, is_staff=is_staff), manga.chapters.order_by("number").first()),
    )
    return {
        "manga": manga,
        "chapters_html": chapters_html,
        "first_chapter": first_chapter if position is None else None,
        "live": may_watch_jobs(request.user),
        "position": position,
        "is_staff": is_staff,
        "translate_form": TranslateForm.for_manga(manga) if is_staff else None,
        "upload_form": upload_form,
        "progress_strings": {
            "translate": job_status_labels(cleaning=False),
            "cleaning": job_status_labels(cleaning=True),
            "page_stage": gettext("page %(page)s: %(stage)s"),
            "no_text": gettext("no text %(n)s"),
            "failed": gettext("failed %(n)s"),
        },
    }
