"""Page images for those allowed to read them (DESIGN §3: never a public mount of data/).

The view decides who may see a file; who sends the bytes is a setting. Embedded, Django streams
them (`FileResponse`). Behind nginx with MANGA_MEDIA_ACCEL_REDIRECT on, the answer is an empty
response whose `X-Accel-Redirect` names the file under the internal location `/_protected/`
(`/_protected/raw/…` → data/raw/…, `/_protected/output/…`, `/_protected/thumbs/…`), which nginx
serves and no client can request directly (deploy/nginx/mangasite.conf).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404

from translations import access, storage
from translations.models import Page

logger = logging.getLogger(__name__)

ACCEL_PREFIX = "/_protected/"
# Content types of the formats storage accepts (storage.ALLOWED_FORMATS); nginx keeps the type of
# this response for the file it sends, so it must be right here.
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}


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
    return file_response(path)


def _readable_page(request, page_id: int) -> Page:
    # A page of a manga the visitor may not read answers like a page that does not exist.
    page = get_object_or_404(Page.objects.select_related("chapter__manga"), pk=page_id)
    if not access.can_read(request.user, page.chapter.manga):
        raise Http404("no such page")
    return page


def _file_response(page: Page) -> HttpResponse:
    try:
        path = storage.resolve_path(page.image)
    except storage.StorageError as exc:
        _refuse(page, exc)
    if not path.is_file():
        raise Http404("the page image is missing from storage")
    return file_response(path)


def file_response(path: Path) -> HttpResponse:
    """The answer for one stored file, already resolved under the data root and allowed."""
    content_type = CONTENT_TYPES.get(path.suffix.lstrip(".").lower(), "application/octet-stream")
    if not settings.MANGA_MEDIA_ACCEL_REDIRECT:
        return FileResponse(path.open("rb"), content_type=content_type)
    relative = path.relative_to(Path(settings.MANGA_DATA_DIR).resolve()).as_posix()
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = ACCEL_PREFIX + quote(relative)
    return response


def _refuse(page: Page, exc: Exception) -> NoReturn:
    # A stored path that leaves the data directory, or a stored file that no longer decodes, is
    # a bad row or a damaged disk, not the visitor's doing: log it, and tell them no more than
    # for a missing file.
    logger.warning("page %s has a refused image path: %s", page.pk, exc)
    raise Http404("the page image is missing from storage") from None
