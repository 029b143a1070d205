"""Staff actions from the reader site: translate, retry, cancel, upload, delete, and the page-result view.

Each action is a POST (CSRF-checked) that calls one service. A form post gets a redirect back with
the outcome as a message (a 409 from the services is a message, not an error page); a `fetch`
that asks for JSON gets `{"ok", "message"}` with the service's HTTP status.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from translations import access
from translations.forms import NewMangaUploadForm, TranslateForm, UploadForm
from translations.models import Manga, PageResult, TranslationJob
from translations.pipeline.report import regions_from_json
from translations.reader_selectors import chapter_by_slug, page_state
from translations.services.chapters import chapter_delete
from translations.services.jobs import (
    JobError,
    chapter_request_translation,
    job_cancel,
    job_retry_failed,
    page_retry,
)
from translations.services.uploads import ImportRefused, import_upload, import_upload_new_manga
from translations.views.library import manga_context


def staff_only(view):
    """403 for a signed-in reader; a sign-in redirect for an anonymous GET, 403 for an anonymous POST."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.is_staff_user(request.user):
            if not request.user.is_authenticated and request.method == "GET":
                return redirect_to_login(request.get_full_path())
            raise PermissionDenied(_("Only staff can do this."))
        return view(request, *args, **kwargs)

    return wrapper


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _answer(request, *, ok: bool, message: str, back: str, status: int = 200, **extra) -> HttpResponse:
    if _wants_json(request):
        if ok and "redirect" in extra:  # the page the script goes to next shows the message
            messages.success(request, message)
        return JsonResponse({"ok": ok, "message": message, **extra}, status=status if not ok else 200)
    (messages.success if ok else messages.error)(request, message)
    return redirect(_back(request, back))


def _manga_url(manga: Manga) -> str:
    return reverse("manga-detail", args=[manga.slug])


def _chapter_or_404(slug: str, chapter_slug: str):
    manga = get_object_or_404(Manga, slug=slug)
    chapter = chapter_by_slug(manga, chapter_slug)
    if chapter is None:
        raise Http404("no such chapter")
    chapter.manga = manga
    return manga, chapter


def _job_or_404(job_id: int) -> TranslationJob:
    return get_object_or_404(TranslationJob.objects.select_related("chapter__manga"), pk=job_id)


@require_POST
@staff_only
def translate(request, slug: str, chapter: str) -> HttpResponse:
    manga, chapter_obj = _chapter_or_404(slug, chapter)
    form = TranslateForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())  # type: ignore[arg-type]
        return _answer(request, ok=False, message=errors, back=_manga_url(manga), status=400)
    try:
        job = chapter_request_translation(
            chapter=chapter_obj,
            target_language=form.cleaned_data["target_language"],
            translator=form.cleaned_data["translator"],
            requested_by=request.user,
        )
    except JobError as exc:
        return _answer(request, ok=False, message=str(exc), back=_manga_url(manga), status=exc.status_code)
    message = _("Chapter %(chapter)s queued for translation (job %(job)s).") % {
        "chapter": chapter_obj.slug,
        "job": job.pk,
    }
    return _answer(request, ok=True, message=message, back=_manga_url(manga), job=job.pk)


@require_POST
@staff_only
def retry_failed(request, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        count = job_retry_failed(job=job, requested_by=request.user)
    except JobError as exc:
        return _answer(request, ok=False, message=str(exc), back=_manga_url(job.chapter.manga), status=exc.status_code)
    message = _("%(count)s failed page(s) of chapter %(chapter)s queued again.") % {
        "count": count,
        "chapter": job.chapter.slug,
    }
    return _answer(request, ok=True, message=message, back=_manga_url(job.chapter.manga))


@require_POST
@staff_only
def cancel(request, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    if not job_cancel(job=job, requested_by=request.user):
        message = _("Job %(job)s had already finished.") % {"job": job.pk}
        return _answer(request, ok=False, message=message, back=_manga_url(job.chapter.manga), status=409)
    message = _("Job %(job)s cancelled.") % {"job": job.pk}
    return _answer(request, ok=True, message=message, back=_manga_url(job.chapter.manga))


@require_POST
@staff_only
def retry_page(request, result_id: int) -> HttpResponse:
    result = get_object_or_404(PageResult.objects.select_related("job__chapter__manga", "page"), pk=result_id)
    manga = result.job.chapter.manga
    try:
        page_retry(page_result=result, requested_by=request.user)
    except JobError as exc:
        return _answer(request, ok=False, message=str(exc), back=_manga_url(manga), status=exc.status_code)
    message = _("Page %(page)s queued again.") % {"page": result.page.index}
    return _answer(request, ok=True, message=message, back=_manga_url(manga))


@require_POST
@staff_only
def upload(request, slug: str) -> HttpResponse:
    manga = get_object_or_404(Manga, slug=slug)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            chapter = import_upload(
                manga=manga,
                number=form.cleaned_data["number"],
                title=form.cleaned_data["title"],
                files=form.cleaned_data["files"],
                requested_by=request.user,
            )
        except ImportRefused as exc:
            form.add_error("files", str(exc))
        else:
            message = _("Chapter %(chapter)s uploaded with %(pages)s pages.") % {
                "chapter": chapter.slug,
                "pages": chapter.pages.count(),
            }
            return _answer(
                request,
                ok=True,
                message=message,
                back=_manga_url(manga),
                chapter=chapter.slug,
                redirect=_manga_url(manga),
            )
    if _wants_json(request):
        errors = {field: [str(error) for error in errs] for field, errs in form.errors.items()}
        return JsonResponse({"ok": False, "message": _("The upload was refused."), "errors": errors}, status=400)
    context = manga_context(request, manga, upload_form=form)
    return render(request, "reader/manga.html", context, status=400)


@staff_only
def delete_chapter(request, slug: str, chapter: str) -> HttpResponse:
    manga, chapter_obj = _chapter_or_404(slug, chapter)
    if request.method != "POST":
        active = chapter_obj.jobs.filter(status__in=TranslationJob.ACTIVE).first()
        context = {"manga": manga, "chapter": chapter_obj, "pages": chapter_obj.pages.count(), "active": active}
        return render(request, "reader/confirm_delete.html", context)
    try:
        chapter_delete(chapter=chapter_obj, requested_by=request.user)
    except JobError as exc:
        return _answer(request, ok=False, message=str(exc), back=_manga_url(manga), status=exc.status_code)
    message = _("Chapter %(chapter)s deleted.") % {"chapter": chapter_obj.slug}
    return _answer(request, ok=True, message=message, back=_manga_url(manga))


@staff_only
def page_result(request, result_id: int) -> HttpResponse:
    """One page of one job for staff: the output, the regions drawn over the original, and the regions table."""
    result = get_object_or_404(PageResult.objects.select_related("job__chapter__manga", "page"), pk=result_id)
    state, error, stage, has_output = page_state(result, cleaning=result.job.translator == "none")
    regions = regions_from_json(result.regions)
    boxes = [{"id": region.id, "box": region.box, "flags": region.flags} for region in regions if region.box]
    context = {
        "result": result,
        "job": result.job,
        "page": result.page,
        "chapter": result.job.chapter,
        "manga": result.job.chapter.manga,
        "state": state,
        "error": error or result.error,
        "failure_stage": stage or result.failure_stage,
        "has_output": has_output,
        "regions": regions,
        "boxes": boxes,
        "timings": sorted((result.timings or {}).items()),
    }
    return render(request, "reader/page_result.html", context)


@require_POST
@staff_only
def upload_new_manga(request) -> HttpResponse:
    """The library's upload form: a chapter of a manga that may not exist yet."""
    form = NewMangaUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            chapter = import_upload_new_manga(
                manga_title=data["manga_title"],
                source_language=data["source_language"],
                target_language=data["target_language"],
                number=data["number"],
                title=data["title"],
                files=data["files"],
                requested_by=request.user,
            )
        except ImportRefused as exc:
            form.add_error("files", str(exc))
        else:
            manga = chapter.manga
            message = _("Chapter %(chapter)s of %(manga)s uploaded.") % {"chapter": chapter.slug, "manga": manga.title}
            return _answer(request, ok=True, message=message, back=_manga_url(manga), redirect=_manga_url(manga))
    if _wants_json(request):
        errors = {field: [str(error) for error in errs] for field, errs in form.errors.items()}
        return JsonResponse({"ok": False, "message": _("The upload was refused."), "errors": errors}, status=400)
    for field, errs in form.errors.items():
        messages.error(request, f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errs)}")  # type: ignore[arg-type]
    return redirect("library")
