"""The one HTTP chokepoint of the scraper: every request to a scraped site goes through `SiteClient.fetch`.

Per request: the SSRF guard (the URL, every redirect hop, and the socket itself), the host's
rate limit (shared by all processes, scraper/throttle.py) and concurrency cap (per process),
connect/read timeouts plus a deadline for the whole body, a size limit, retries with
exponential backoff and jitter that honour `Retry-After`, challenge detection (never retried),
a configurable User-Agent, `Referer` for images, cookies from an imported browser session and
conditional GETs (ETag / Last-Modified) for HTML pages.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from scraper.challenge import challenge_marker
from scraper.errors import ScrapeError
from scraper.guarded_adapter import GuardedHTTPAdapter
from scraper.models import ErrorCode
from scraper.ssrf import check_url
from scraper.throttle import throttle_defer, throttle_wait

logger = logging.getLogger(__name__)

RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
CONDITIONAL_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class Politeness:
    """How hard one site may be asked: a source's own values, else the MANGA_SCRAPER_* defaults."""

    requests_per_second: float
    concurrency: int
    user_agent: str

    @classmethod
    def default(cls) -> Politeness:
        return cls(
            requests_per_second=float(settings.MANGA_SCRAPER_REQUESTS_PER_SEC),
            concurrency=settings.MANGA_SCRAPER_CONCURRENCY,
            user_agent=settings.MANGA_SCRAPER_USER_AGENT,
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes
    from_cache: bool = False

    def text(self) -> str:
        content_type = self.headers.get("content-type", "")
        charset = "utf-8"
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")


@dataclass
class _Cached:
    etag: str
    last_modified: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class _HostSlots:
    """Per-process concurrency cap per host: one semaphore per (host, cap)."""

    _lock = threading.Lock()
    _slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}

    @classmethod
    def get(cls, host: str, cap: int) -> threading.BoundedSemaphore:
        with cls._lock:
            return cls._slots.setdefault((host, cap), threading.BoundedSemaphore(cap))


class _ConditionalCache:
    """Validators and bodies of recent HTML pages, per process, so a repeat GET can be a 304."""

    _lock = threading.Lock()
    _entries: OrderedDict[str, _Cached] = OrderedDict()

    @classmethod
    def get(cls, url: str) -> _Cached | None:
        with cls._lock:
            entry = cls._entries.get(url)
            if entry is not None:
                cls._entries.move_to_end(url)
            return entry

    @classmethod
    def put(cls, url: str, entry: _Cached) -> None:
        with cls._lock:
            cls._entries[url] = entry
            cls._entries.move_to_end(url)
            while len(cls._entries) > CONDITIONAL_CACHE_ENTRIES:
                cls._entries.popitem(last=False)

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._entries.clear()


class SiteClient:
    """Requests to one site, with its politeness and its imported cookies. Safe to share between threads."""

    def __init__(self, *, politeness: Politeness | None = None, cookies: list[dict] | None = None) -> None:
        self.politeness = politeness or Politeness.default()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the environment: the guard checks the real peer
        adapter = GuardedHTTPAdapter(pool_maxsize=max(self.politeness.concurrency, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = self.politeness.user_agent
        for cookie in cookies or []:
            self.session.cookies.set_cookie(requests.cookies.create_cookie(**cookie))

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, *, referer: str | None = None, kind: str = "html") -> Fetched:
        return self.fetch("GET", url, referer=referer, kind=kind)

    def post(self, url: str, *, data: Mapping[str, str] | None = None, referer: str | None = None) -> Fetched:
        return self.fetch("POST", url, data=data, referer=referer)

    def fetch(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        referer: str | None = None,
        kind: str = "html",
    ) -> Fetched:
        """One logical request: redirects followed (each hop checked), retried per policy, body read in full.

        Raises ScrapeError with a code: blocked_address, bad_url, challenge, http_status,
        rate_limited, timeout, connection, too_large.
        """
        retries = settings.MANGA_SCRAPER_RETRIES
        attempt = 0
        while True:
            try:
                return self._follow_redirects(method, url, data=data, referer=referer, kind=kind)
            except _Retryable as exc:
                if attempt >= retries:
                    raise ScrapeError(exc.code, f"{exc} (gave up after {attempt + 1} tries)") from None
                delay = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
                logger.info("scraper: %s %s: %s; retry %d in %.2fs", method, url, exc, attempt + 1, delay)
                if exc.retry_after is not None:
                    throttle_defer(_host(url), delay)
                time.sleep(delay)
                attempt += 1

    def _follow_redirects(
        self, method: str, url: str, *, data: Mapping[str, str] | None, referer: str | None, kind: str
    ) -> Fetched:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            response = self._send_once(method, url, data=data, referer=referer, kind=kind)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("location")
            if not location:
                raise ScrapeError(ErrorCode.HTTP_STATUS, f"{url} redirects ({response.status}) without a Location.")
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, data = "GET", None
        raise ScrapeError(ErrorCode.HTTP_STATUS, f"{url}: more than {MAX_REDIRECTS} redirects.")

    def _send_once(
        self, method: str, url: str, *, data: Mapping[str, str] | None, referer: str | None, kind: str
    ) -> Fetched:
        host = _host(url)
        headers = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8" if kind == "image" else "text/html,*/*;q=0.8"}
        if referer:
            headers["Referer"] = referer
        if method == "POST":
            headers["X-Requested-With"] = "XMLHttpRequest"  # Madara's AJAX endpoints expect it
        cached = _ConditionalCache.get(url) if method == "GET" and kind == "html" else None
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        limit = settings.MANGA_MAX_IMAGE_BYTES if kind == "image" else settings.MANGA_SCRAPER_MAX_HTML_BYTES
        slots = _HostSlots.get(host, self.politeness.concurrency)
        with slots:
            throttle_wait(host, 1 / self.politeness.requests_per_second)
            status, response_headers, body = self._transfer(method, url, data, headers, limit)
        if status == 304 and cached is not None:
            return Fetched(url=url, status=200, headers=cached.headers, body=cached.body, from_cache=True)
        marker = challenge_marker(status, response_headers, body)
        if marker is not None:
            raise ScrapeError(
                ErrorCode.CHALLENGE,
                f"{host} answered with an anti-bot challenge ({marker}). Open the site in a browser, pass the "
                "check, export the session's storage state and import it as this source's cookies (admin → "
                "Sources → Import cookies); use the same browser's User-Agent for the source.",
            )
        if status in RETRY_STATUSES:
            raise _Retryable(
                ErrorCode.RATE_LIMITED if status == 429 else ErrorCode.HTTP_STATUS,
                f"{url} answered {status}",
                retry_after=_retry_after(response_headers.get("retry-after")),
            )
        if status >= 400:
            raise ScrapeError(ErrorCode.HTTP_STATUS, f"{url} answered {status}.")
        if method == "GET" and kind == "html" and status == 200:
            etag, modified = response_headers.get("etag", ""), response_headers.get("last-modified", "")
            if etag or modified:
                _ConditionalCache.put(url, _Cached(etag, modified, body, dict(response_headers)))
        return Fetched(url=url, status=status, headers=response_headers, body=body)

    def _transfer(
        self, method: str, url: str, data: Mapping[str, str] | None, headers: dict[str, str], limit: int
    ) -> tuple[int, dict[str, str], bytes]:
        timeout = (settings.MANGA_SCRAPER_CONNECT_TIMEOUT_SEC, settings.MANGA_SCRAPER_READ_TIMEOUT_SEC)
        deadline = time.monotonic() + settings.MANGA_SCRAPER_REQUEST_DEADLINE_SEC
        try:
            with self.session.request(
                method, url, data=data, headers=headers, timeout=timeout, stream=True, allow_redirects=False
            ) as response:
                response_headers = {name.lower(): value for name, value in response.headers.items()}
                declared = response_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise ScrapeError(ErrorCode.TOO_LARGE, f"{url} is {declared} bytes, more than {limit}.")
                chunks, size = [], 0
                for chunk in response.iter_content(CHUNK_BYTES):
                    size += len(chunk)
                    if size > limit:
                        raise ScrapeError(ErrorCode.TOO_LARGE, f"{url} is more than {limit} bytes.")
                    if time.monotonic() > deadline:
                        raise _Retryable(
                            ErrorCode.TIMEOUT,
                            f"{url} did not arrive within {settings.MANGA_SCRAPER_REQUEST_DEADLINE_SEC}s",
                        )
                    chunks.append(chunk)
                return response.status_code, response_headers, b"".join(chunks)
        except (requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retryable(ErrorCode.TIMEOUT, f"{url} timed out ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            raise _Retryable(ErrorCode.CONNECTION, f"{url}: connection failed ({_reason(exc)})") from None
        except requests.RequestException as exc:
            raise ScrapeError(ErrorCode.BAD_URL, f"{url}: {exc}") from None


class _Retryable(Exception):
    def __init__(self, code: ErrorCode, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); refuses waits past the cap."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max((when - datetime.now(UTC)).total_seconds(), 0.0)
    cap = settings.MANGA_SCRAPER_RETRY_AFTER_MAX_SEC
    if seconds > cap:
        raise ScrapeError(
            ErrorCode.RATE_LIMITED,
            f"the site asks to wait {seconds:.0f}s (Retry-After), more than MANGA_SCRAPER_RETRY_AFTER_MAX_SEC={cap}; "
            "retry the download later.",
        )
    return seconds


def _backoff(attempt: int) -> float:
    base = settings.MANGA_SCRAPER_BACKOFF_MS / 1000 * (2**attempt)
    return base * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not crypto)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"
