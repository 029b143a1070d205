"""The reader (`/read/<slug>/<chapter>/`) and the reading position it saves as the reader turns pages."""

from __future__ import annotations

import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from translations import access
from translations.models import Language, ReadingPosition
from translations.pipeline.languages import RIGHT_TO_LEFT
from translations.reader_selectors import ReaderChapter, reader_chapter, reading_position
from translations.selectors import may_watch_job
from translations.services.reading import PositionRefused, position_save
from translations.views import fragments
from translations.views.links import url_maker
from translations.views.lookups import login_needed, readable_chapter_or_404

# Korean and Chinese chapters are mostly webtoons: one long strip.
STRIP_FIRST = (Language.KOREAN, Language.CHINESE)


def read_chapter(request, slug: str, chapter: str) -> HttpResponse:
    if (redirect := login_needed(request)) is not None:
        return redirect
    manga, chapter_obj = readable_chapter_or_404(request, slug, chapter)
    asked = request.GET.get("lang")
    language = asked if asked in Language.values else None
    # The same for every reader of this manga version (fragments.py); the position and rights are not in it.
    key = (*fragments.manga_key(manga), chapter_obj.pk, language)
    view, pages = fragments.cached("reader-chapter", key, lambda: _chapter_and_pages(manga, chapter_obj, language))
    is_staff = access.is_staff_user(request.user)
    pages_html = fragments.cached(
        "reader-pages",
        (*key, is_staff),
        lambda: mark_safe(render_to_string("reader/_pages.html", {"pages": pages, "is_staff": is_staff})),  # noqa: S308
    )
    position = reading_position(request.user, manga)
    context = {
        "view": view,
        "pages_html": pages_html,
        "manga": manga,
        "chapter": chapter_obj,
        "is_staff": is_staff,
        "reader_data": _reader_data(request, view, pages, position),
    }
    return render(request, "reader/read.html", context)


def _chapter_and_pages(manga, chapter, language: str | None) -> tuple[ReaderChapter, list[dict]]:
    view = reader_chapter(manga, chapter, language=language)
    return view, _pages(view)


def _reader_data(request, view: ReaderChapter, pages: list[dict], position: ReadingPosition | None) -> dict:
    manga, chapter, job = view.manga, view.chapter, view.job
    default_direction = "rtl" if manga.source_language in RIGHT_TO_LEFT else "ltr"
    default_mode = "strip" if manga.source_language in STRIP_FIRST else "paged"
    start = 1
    if position is not None and position.chapter_id == chapter.pk:
        start = position.page
    requested = request.GET.get("page", "")
    if requested.isdigit():
        start = int(requested)
    start = min(max(start, 1), max(len(view.pages), 1))
    return {
        "manga": manga.slug,
        "chapter": chapter.slug,
        "mode": position.mode if position else default_mode,
        "direction": position.direction if position else default_direction,
        "start": start,
        "save_url": reverse("reader-position", args=[manga.slug, chapter.slug])
        if request.user.is_authenticated
        else "",
        "job": None
        if job is None
        else {
            "id": job.job_id,
            "seq": job.last_event_seq,
            # No socket for those the consumer would refuse (selectors.job_visible_to).
            "active": job.active and may_watch_job(request.user, requested_by_id=job.requested_by_id),
            "cleaning": job.cleaning,
            "ws": f"/ws/jobs/{job.job_id}/",
            "retry_failed_url": reverse("job-retry-failed", args=[job.job_id]),
        },
        "pages": pages,
        "strings": {
            "translated": _("Translated"),
            "cleaning": _("Cleaned (cleaning mode)"),
            "no_text": _("No text"),
            "failed": _("Failed"),
            "pending": _("Waiting to be translated"),
            "running": _("Being translated…"),
            "cancelled": _("Cancelled"),
            "original": _("Not translated"),
            "page_of": _("Page %(page)s of %(total)s"),
            "retry_queued": _("Queued again."),
            "live_lost": _("Live updates lost; reconnecting…"),
        },
    }


def _pages(view: ReaderChapter) -> list[dict]:
    raw, out, retry = url_maker("page-image"), url_maker("result-image"), url_maker("result-retry")
    alt = _("Page %(page)s")
    return [
        {
            "index": item.page.index,
            "width": item.page.width,
            "height": item.page.height,
            "alt": alt % {"page": item.page.index},
            "raw": raw(item.page.pk),
            "out": f"{out(item.result_id)}?v={item.version}" if item.has_output else "",
            "out_base": out(item.result_id) if item.result_id else "",
            "retry_url": retry(item.result_id) if item.result_id else "",
            "state": item.state,
            "error": item.error,
            "result": item.result_id,
        }
        for item in view.pages
    ]


@require_POST
def save_position(request, slug: str, chapter: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Sign in to remember your place.")}, status=403)
    chapter_obj = readable_chapter_or_404(request, slug, chapter)[1]
    try:
        body = json.loads(request.body or b"{}")
        page = int(body.get("page", 0))
        mode, direction = str(body.get("mode", "")), str(body.get("direction", ""))
    except (ValueError, TypeError, AttributeError):
        return JsonResponse({"error": _("Send JSON with page, mode and direction.")}, status=400)
    try:
        position = position_save(user=request.user, chapter=chapter_obj, page=page, mode=mode, direction=direction)
    except PositionRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"page": position.page, "mode": position.mode, "direction": position.direction})
