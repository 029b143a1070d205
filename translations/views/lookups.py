"""What every reader-site view does first: check the visitor may browse, find the manga or chapter or answer 404."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from translations import access
from translations.models import Chapter, Manga, TranslationJob
from translations.reader_selectors import chapter_by_slug


def login_needed(request) -> HttpResponse | None:
    """A redirect to sign in when the visitor may not browse at all; None when they may."""
    if access.may_browse(request.user):
        return None
    return redirect_to_login(request.get_full_path())


def readable_manga_or_404(request, slug: str) -> Manga:
    # A manga the visitor may not read answers like one that does not exist.
    manga = get_object_or_404(Manga, slug=slug)
    if not access.can_read(request.user, manga):
        raise Http404("no such manga")
    return manga


def readable_chapter_or_404(request, slug: str, chapter_slug: str) -> tuple[Manga, Chapter]:
    manga = readable_manga_or_404(request, slug)
    chapter = chapter_by_slug(manga, chapter_slug)
    if chapter is None:
        raise Http404("no such chapter")
    chapter.manga = manga
    return manga, chapter


def readable_job_or_404(request, job_id: int) -> TranslationJob:
    job = get_object_or_404(TranslationJob.objects.select_related("chapter__manga"), pk=job_id)
    if not access.can_read(request.user, job.chapter.manga):
        raise Http404("no such job")
    return job
