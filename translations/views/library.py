"""The library (`/`) and a manga's page (`/manga/<slug>/`)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from translations import access
from translations.forms import NewMangaUploadForm, TranslateForm, UploadForm, target_language_choices
from translations.models import SOURCE_LANGUAGES, Language, Manga
from translations.reader_selectors import (
    LIBRARY_SORTS,
    LIBRARY_STATES,
    continue_reading,
    job_status_labels,
    library_manga,
    manga_chapters,
    reading_position,
)
from translations.views.lookups import login_needed, readable_manga_or_404

LIBRARY_PAGE_SIZE = 48


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
    mangas = library_manga(request.user, query=query, source=source, target=target, state=state, sort=sort)
    page = Paginator(mangas, LIBRARY_PAGE_SIZE).get_page(params.get("page"))
    context = {
        "page": page,
        "query": query,
        "source": source,
        "target": target,
        "state": state,
        "sort": sort,
        "filtered": filtered,
        "source_choices": [(lang.value, lang.label) for lang in SOURCE_LANGUAGES],
        "target_choices": target_language_choices(),
        "recent": [] if filtered else list(library_manga(request.user, sort="updated")[:6]),
        "continue_reading": [] if filtered else continue_reading(request.user),
        "is_staff": access.is_staff_user(request.user),
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


def manga_context(request, manga: Manga, *, upload_form: UploadForm | None = None) -> dict:
    """The manga page's context; the upload view passes its bound form back with the errors."""
    is_staff = access.is_staff_user(request.user)
    rows = manga_chapters(manga)
    if is_staff and upload_form is None:
        upload_form = UploadForm(initial={"number": int(rows[-1].chapter.number) + 1 if rows else 1})
    return {
        "manga": manga,
        "rows": rows,
        "position": reading_position(request.user, manga),
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
