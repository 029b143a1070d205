"""Page images for those allowed to read them (DESIGN §3: never a public mount of data/)."""

from __future__ import annotations

import logging
from typing import NoReturn

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404

from translations import access, storage
from translations.models import Page

logger = logging.getLogger(__name__)


def page_image(request, page_id: int) -> HttpResponse:
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    page = _readable_page(request, page_id)
    return _file_response(page)


def page_thumbnail(request, page_id: int) -> HttpResponse:
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    page = _readable_page(request, page_id)
    try:
        path = storage.ensure_thumbnail(page.image, page.thumbnail)
    except FileNotFoundError:
        raise Http404("the page image is missing from storage") from None
    except (storage.StorageError, storage.InvalidImage) as exc:
        _refuse(page, exc)
    return FileResponse(path.open("rb"), content_type="image/jpeg")


def _readable_page(request, page_id: int) -> Page:
    # A page of a manga the visitor may not read answers like a page that does not exist.
    page = get_object_or_404(Page.objects.select_related("chapter__manga"), pk=page_id)
    if not access.can_read(request.user, page.chapter.manga):
        raise Http404("no such page")
    return page


def _file_response(page: Page) -> FileResponse:
    try:
        path = storage.resolve_path(page.image)
    except storage.StorageError as exc:
        _refuse(page, exc)
    if not path.is_file():
        raise Http404("the page image is missing from storage")
    return FileResponse(path.open("rb"))


def _refuse(page: Page, exc: Exception) -> NoReturn:
    # A stored path that leaves the data directory, or a stored file that no longer decodes, is
    # a bad row or a damaged disk, not the visitor's doing: log it, and tell them no more than
    # for a missing file.
    logger.warning("page %s has a refused image path: %s", page.pk, exc)
    raise Http404("the page image is missing from storage") from None
