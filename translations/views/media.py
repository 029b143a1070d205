"""Page images for signed-in users only (DESIGN §3: never a public mount of data/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from translations import storage
from translations.models import Page


@login_required
def page_image(request, page_id: int) -> FileResponse:
    page = get_object_or_404(Page, pk=page_id)
    return _file_response(page.image)


@login_required
def page_thumbnail(request, page_id: int) -> FileResponse:
    page = get_object_or_404(Page.objects.select_related("chapter__manga"), pk=page_id)
    chapter = page.chapter
    thumb = storage.page_path(storage.THUMB_DIR, chapter.manga.slug, chapter.slug, page.index, "jpg")
    try:
        path = storage.ensure_thumbnail(page.image, thumb)
    except FileNotFoundError:
        raise Http404("the page image is missing from storage") from None
    return FileResponse(path.open("rb"), content_type="image/jpeg")


def _file_response(relative: str) -> FileResponse:
    path = storage.resolve_path(relative)
    if not path.is_file():
        raise Http404("the page image is missing from storage")
    return FileResponse(path.open("rb"))
