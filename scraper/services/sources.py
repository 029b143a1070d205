"""Sources: the provider for a source, access checks, and cookies imported from a browser session."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from scraper.client import Politeness, SiteClient
from scraper.errors import ScrapeError
from scraper.models import ErrorCode, Source, url_host
from scraper.providers.madara import MadaraPreset, MadaraProvider
from translations import storage
from translations.services.audit import audit_record

logger = logging.getLogger(__name__)

COOKIES_DIR = "scraper/cookies"


class CookiesRefused(Exception):
    """An uploaded storage state that was not stored; the message says why."""


def source_politeness(source: Source) -> Politeness:
    default = Politeness.default()
    return Politeness(
        requests_per_second=float(source.requests_per_second or default.requests_per_second),
        concurrency=source.concurrency or default.concurrency,
        user_agent=source.user_agent or default.user_agent,
    )


def source_provider(source: Source) -> MadaraProvider:
    preset = MadaraPreset(
        base_url=source.base_url,
        catalog_path=source.catalog_path,
        chapter_list=source.chapter_list,
        search_item=source.search_item_selector,
        catalog_item=source.catalog_item_selector,
        chapter_item=source.chapter_item_selector,
        image=source.image_selector,
    )
    return MadaraProvider(preset, SiteClient(politeness=source_politeness(source), cookies=source_cookies(source)))


def source_for_url(url: str) -> Source | None:
    return Source.objects.filter(host=url_host(url)).first()


def source_for_url_or_generic(url: str) -> tuple[Source, bool]:
    """The source configured for the URL's host, else a new one with the generic Madara preset (True)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScrapeError(ErrorCode.BAD_URL, f"{url!r} is not an http(s) URL of a site.")
    source = source_for_url(url)
    if source is not None:
        return source, False
    base = f"{parts.scheme}://{parts.netloc}/"
    return Source.objects.create(name=parts.hostname, base_url=base), True


def source_check_access(*, source: Source, requested_by=None) -> tuple[bool, str]:
    """Fetch the catalog's first page and remember the outcome on the source."""
    try:
        message = source_provider(source).check_access()
        ok, code = True, ""
    except ScrapeError as exc:
        ok, code, message = False, exc.code, str(exc)
    Source.objects.filter(pk=source.pk).update(
        last_check_at=timezone.now(), last_check_ok=ok, last_check_code=code, last_check_message=message
    )
    audit_record(
        actor=requested_by,
        action="scraper.check_access",
        obj=source,
        message=f"Checked access to {source}: {'ok' if ok else code}.",
    )
    return ok, message


def source_import_cookies(*, source: Source, data: bytes, requested_by=None) -> int:
    """Keep the cookies of a browser storage-state JSON that belong to the source's host; returns how many.

    The file goes to data/scraper/cookies/<source id>.json, a name of our own: nothing the client
    sends names a server path.
    """
    limit = settings.MANGA_SCRAPER_COOKIES_MAX_BYTES
    if len(data) > limit:
        raise CookiesRefused(f"The file is {len(data)} bytes, more than the limit of {limit}.")
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CookiesRefused(f"The file is not JSON ({exc}).") from None
    raw = state.get("cookies") if isinstance(state, dict) else state
    if not isinstance(raw, list):
        raise CookiesRefused('Expected a storage state ({"cookies": [...]}) or a list of cookies.')
    cookies = [cookie for cookie in (_cookie(item) for item in raw) if cookie and _matches(cookie, source.host)]
    if not cookies:
        raise CookiesRefused(f"The file holds no cookie for {source.host}.")
    relative = f"{COOKIES_DIR}/{source.pk}.json"
    storage.write_atomic(relative, json.dumps(cookies).encode())
    Source.objects.filter(pk=source.pk).update(cookies_file=relative, cookies_imported_at=timezone.now())
    source.cookies_file = relative
    audit_record(
        actor=requested_by,
        action="scraper.import_cookies",
        obj=source,
        message=f"Imported {len(cookies)} cookie(s) for {source}.",
        details={"names": sorted(c["name"] for c in cookies)},
    )
    return len(cookies)


def source_cookies(source: Source) -> list[dict]:
    """The stored cookies, as keyword arguments of requests' create_cookie."""
    if not source.cookies_file:
        return []
    try:
        stored = json.loads(storage.resolve_path(source.cookies_file).read_text(encoding="utf-8"))
    except (OSError, ValueError, storage.StorageError) as exc:
        logger.warning("cookies of source %s unreadable: %s", source.pk, exc)
        return []
    now = timezone.now().timestamp()
    return [cookie for cookie in stored if not cookie.get("expires") or cookie["expires"] > now]


def _cookie(item: object) -> dict | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("value"), str):
        return None
    domain = str(item.get("domain") or "").lower()
    if not domain:
        return None
    expires = item.get("expires")
    return {
        "name": item["name"],
        "value": item["value"],
        "domain": domain,
        "path": str(item.get("path") or "/"),
        "secure": bool(item.get("secure")),
        # Playwright writes -1 for a session cookie.
        "expires": int(expires) if isinstance(expires, int | float) and expires > 0 else None,
        "rest": {"HttpOnly": None} if item.get("httpOnly") else {},
    }


def _matches(cookie: dict, host: str) -> bool:
    domain = cookie["domain"].lstrip(".")
    return host == domain or host.endswith("." + domain)
