"""The staff page `/scraper/`: pick a source, search or browse, open a manga, queue chapter downloads, watch them.

Thin: every view checks the user first (anonymous → sign-in, signed-in non-staff → 403), then
calls a provider or a service. Forms are POSTs under Django's CSRF protection. Provider errors
are shown with their code; nothing a provider fails at is a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from scraper.errors import ScrapeError
from scraper.models import Download, Source, url_host
from scraper.selectors import active_downloads_by_chapter_url, library_chapter_numbers, source_health
from scraper.services.downloads import (
    ChapterChoice,
    DownloadRefused,
    download_cancel,
    download_request,
    download_retry,
)
from scraper.services.selection import SelectionRefused, select_chapters
from scraper.services.sources import source_check_access, source_provider
from translations.access import is_staff_user
from translations.models import Translator
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.services.jobs import default_translator


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_user(request.user):
            raise PermissionDenied("The scraper is for staff.")
        return view(request, *args, **kwargs)

    return guarded


@require_GET
@staff_only
def index(request: HttpRequest) -> HttpResponse:
    sources = [(source, source_health(source)) for source in Source.objects.filter(enabled=True)]
    downloads = Download.objects.select_related("source")[:30]
    return render(request, "scraper/index.html", {"sources": sources, "downloads": downloads})


@require_POST
@staff_only
def check_access(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id)
    ok, message = source_check_access(source=source, requested_by=request.user)
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, f"{source}: {message}")
    return redirect("scraper:index")


@require_GET
@staff_only
def search(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id, enabled=True)
    query = request.GET.get("q", "").strip()
    page = _page_number(request)
    context = {"source": source, "query": query, "page": page, "results": None, "error": None}
    if query:
        try:
            context["results"] = source_provider(source).search(query, page)
        except ScrapeError as exc:
            context["error"] = exc
    return render(request, "scraper/results.html", context)


@require_GET
@staff_only
def catalog(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id, enabled=True)
    page = _page_number(request)
    context: dict[str, object] = {"source": source, "page": page, "catalog": None, "results": None, "error": None}
    try:
        listing = source_provider(source).catalog(page)
        context.update(catalog=listing, results=listing.items)
    except ScrapeError as exc:
        context["error"] = exc
    return render(request, "scraper/results.html", context)


@require_GET
@staff_only
def manga(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id, enabled=True)
    url = _manga_url(request.GET.get("url", ""), source)
    context = {
        "source": source,
        "url": url,
        "detail": None,
        "error": None,
        "target_languages": TARGET_LANGUAGES,
        "translators": Translator.choices,
        "default_translator": default_translator(),
    }
    try:
        detail = source_provider(source).manga(url)
    except ScrapeError as exc:
        context["error"] = exc
        return render(request, "scraper/manga.html", context)
    known = library_chapter_numbers(manga_url=url)
    active = active_downloads_by_chapter_url([chapter.url for chapter in detail.chapters])
    context["detail"] = detail
    context["chapters"] = [
        {"ref": chapter, "in_library": chapter.number.normalize() in known, "active": active.get(chapter.url)}
        for chapter in detail.chapters
    ]
    return render(request, "scraper/manga.html", context)


@require_POST
@staff_only
def queue_downloads(request: HttpRequest, source_id: int) -> HttpResponse:
    """Queue the chosen chapters: ticked boxes, a range ("1-3,7") or "new"; optionally with a translation."""
    source = get_object_or_404(Source, pk=source_id, enabled=True)
    url = _manga_url(request.POST.get("manga_url", ""), source)
    back = f"{reverse('scraper:manga', args=[source.pk])}?url={url}"
    try:
        detail = source_provider(source).manga(url)  # the chapter list the server trusts, not the form's
    except ScrapeError as exc:
        messages.error(request, f"[{exc.code}] {exc}")
        return redirect(back)
    picked = set(request.POST.getlist("chapter"))
    spec = "new" if request.POST.get("all_new") else request.POST.get("selection", "").strip()
    try:
        chosen = [chapter for chapter in detail.chapters if chapter.url in picked]
        if spec:
            known = library_chapter_numbers(manga_url=url)
            chosen += [c for c in select_chapters(detail.chapters, spec, in_library=known) if c not in chosen]
    except SelectionRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if not chosen:
        messages.warning(request, "No chapter was chosen.")
        return redirect(back)
    translate_to = request.POST.get("translate_to", "") if request.POST.get("translate") else ""
    translator = request.POST.get("translator", "") if translate_to else ""
    queued = []
    for chapter in sorted(chosen, key=lambda c: c.number):
        try:
            download, _ = download_request(
                source=source,
                manga_url=url,
                manga_title=detail.title,
                chapter=ChapterChoice(url=chapter.url, number=chapter.number, title=chapter.title),
                translate_to=translate_to,
                translator=translator,
                requested_by=request.user,
            )
        except DownloadRefused as exc:
            messages.error(request, str(exc))
            break
        queued.append(download)
    if queued:
        messages.success(request, f"Queued {len(queued)} chapter(s) of {detail.title}.")
    if len(queued) == 1:
        return redirect("scraper:download", queued[0].pk)
    return redirect("scraper:index")


@require_GET
@staff_only
def download_detail(request: HttpRequest, download_id: int) -> HttpResponse:
    downloads = Download.objects.select_related("source", "chapter", "translation_job")
    download = get_object_or_404(downloads, pk=download_id)
    return render(request, "scraper/download.html", {"download": download, "pages": download.pages.order_by("index")})


@require_POST
@staff_only
def download_action(request: HttpRequest, download_id: int, action: str) -> HttpResponse:
    download = get_object_or_404(Download, pk=download_id)
    if action == "cancel":
        if not download_cancel(download=download, requested_by=request.user):
            messages.warning(request, f"Download {download.pk} had already finished.")
    else:
        try:
            download_retry(download=download, requested_by=request.user)
        except DownloadRefused as exc:
            messages.error(request, str(exc))
    return redirect("scraper:download", download.pk)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 1000))
    except ValueError:
        return 1


def _manga_url(url: str, source: Source) -> str:
    """A manga address on the source's own host; anything else is refused before any request."""
    url = url.strip()
    if not url.startswith(("http://", "https://")) or url_host(url) != source.host:
        raise PermissionDenied(f"Only addresses on {source.host} can be opened from this source.")
    return url
