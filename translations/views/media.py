"""Page images, translated pages and covers for those allowed to read them (DESIGN §3: never a public mount of data/).

Every answer is private (`Cache-Control: private`), with an `ETag` and `Last-Modified` from the
file, so a browser revalidates with a 304 instead of downloading again. With
`MANGA_MEDIA_ACCEL_REDIRECT` on, Django only checks access and answers with
`X-Accel-Redirect: /_protected/<path under MANGA_DATA_DIR>`: nginx sends the file from an
`internal` location (deploy/) and handles the conditional request itself.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.utils.http import http_date, parse_http_date_safe

from translations import access, storage
from translations.models import Manga, Page, PageResult

logger = logging.getLogger(__name__)

ACCEL_PREFIX = "/_protected/"
# Page and cover URLs never change content (a re-import of other pages is refused; a new
# translation of a page gets a new ?v=), so browsers may keep them a day without asking.
CACHE_CONTROL = "private, max-age=86400"


def page_image(request, page_id: int) -> HttpResponse:
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    page = _readable_page(request, page_id)
    return stored_file_response(request, page.image, owner=page)


def page_thumbnail(request, page_id: int) -> HttpResponse:
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    page = _readable_page(request, page_id)
    _ensure_thumbnail(page.image, page.thumbnail, owner=page)
    return stored_file_response(request, page.thumbnail, owner=page)


def manga_cover(request, manga_id: int) -> HttpResponse:
    """The library's cover: a small WebP of the manga's cover page, made once."""
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    manga = get_object_or_404(Manga, pk=manga_id)
    if not access.can_read(request.user, manga) or not manga.cover:
        raise Http404("no cover")
    try:
        thumbnail = storage.webp_thumbnail_path(manga.cover)
    except storage.StorageError as exc:
        _refuse(manga, exc)
    _ensure_thumbnail(manga.cover, thumbnail, owner=manga)
    return stored_file_response(request, thumbnail, owner=manga)


def result_image(request, result_id: int) -> HttpResponse:
    """A translated (or cleaned) page: the output of one PageResult that succeeded."""
    if not access.may_browse(request.user):
        return redirect_to_login(request.get_full_path())
    result = get_object_or_404(PageResult.objects.select_related("job__chapter__manga"), pk=result_id)
    if not access.can_read(request.user, result.job.chapter.manga):
        raise Http404("no such page")
    if result.status != PageResult.Status.SUCCEEDED or not result.output_path:
        raise Http404("this page has no translated image")
    return stored_file_response(request, result.output_path, owner=result)


def _readable_page(request, page_id: int) -> Page:
    # A page of a manga the visitor may not read answers like a page that does not exist.
    page = get_object_or_404(Page.objects.select_related("chapter__manga"), pk=page_id)
    if not access.can_read(request.user, page.chapter.manga):
        raise Http404("no such page")
    return page


def _ensure_thumbnail(source: str, thumbnail: str, *, owner) -> None:
    try:
        storage.ensure_thumbnail(source, thumbnail)
    except FileNotFoundError:
        raise Http404("the page image is missing from storage") from None
    except (storage.StorageError, storage.InvalidImage) as exc:
        _refuse(owner, exc)


def stored_file_response(request, relative: str, *, owner) -> HttpResponse:
    """A stored file as a private, revalidatable answer: 304, X-Accel-Redirect, or the file itself."""
    try:
        path = storage.resolve_path(relative)
    except storage.StorageError as exc:
        _refuse(owner, exc)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if settings.MANGA_MEDIA_ACCEL_REDIRECT:
        if not path.is_file():
            raise Http404("the file is missing from storage")
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = ACCEL_PREFIX + quote(relative)
        response["Cache-Control"] = CACHE_CONTROL
        return response
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise Http404("the file is missing from storage") from None
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    modified = int(stat.st_mtime)
    if _not_modified(request, etag, modified):
        response = HttpResponseNotModified()
    else:
        response = FileResponse(Path(path).open("rb"), content_type=content_type)  # type: ignore[assignment]
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _not_modified(request, etag: str, modified: int) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and modified <= since


def _refuse(owner, exc: Exception) -> NoReturn:
    # A stored path that leaves the data directory, or a stored file that no longer decodes, is
    # a bad row or a damaged disk, not the visitor's doing: log it, and tell them no more than
    # for a missing file.
    logger.warning("%s %s has a refused image path: %s", type(owner).__name__, owner.pk, exc)
    raise Http404("the page image is missing from storage") from None
