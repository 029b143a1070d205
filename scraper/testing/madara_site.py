# ruff: noqa: E501  (fixture HTML reads best one element per line)
"""A local Madara-like manga site on loopback (an ephemeral port), for tests, the benchmark and demos.

It serves HTML of our own making in the shape of the WordPress Madara theme: search results,
a paged catalog, manga pages whose chapter list is inline, behind the newer `…/ajax/chapters/`
POST or behind `admin-ajax.php?action=manga_get_chapters`, reader pages with lazy images, and
the misbehaviours a scraper meets: a 429 with Retry-After, an anti-bot challenge, a redirect to
a private address, an "image" that is HTML, a truncated image, a slow image. Every request is
recorded (time, method, path, headers, form) so tests assert on what the scraper sent.
"""

from __future__ import annotations

import html
import io
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

IMAGE_ROOT = "/wp-content/uploads/WP-manga/data"


def fixture_image(seed: int, *, size: tuple[int, int] = (60, 80)) -> bytes:
    """A small PNG, distinct per seed."""
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle([4, 4, 4 + seed % 50, 18], fill=(seed * 37 % 255, seed * 11 % 255, 90))
    draw.text((6, 30), str(seed), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FixtureChapter:
    label: str  # as the site shows it: "Chapter 1", "Ch. 7 - The Sea"
    slug: str  # the URL segment: chapter-1
    # One entry per page: PNG bytes, or a misbehaviour: "html" (a hotlink page), "truncated", "slow",
    # "private" (the reader page points the image at a cloud metadata address).
    pages: list[bytes | str]


@dataclass
class FixtureManga:
    slug: str
    title: str
    chapter_list: str = "page"  # page | ajax | admin_ajax
    chapters: list[FixtureChapter] = field(default_factory=list)  # newest first, as Madara lists them
    genres: tuple[str, ...] = ("Action", "Fantasy")
    status: str = "OnGoing"
    synopsis: str = "A story told in pictures."
    post_id: int = 0


def default_catalog() -> list[FixtureManga]:
    """Three manga, one per chapter-list style, plus the misbehaving chapters."""
    blue = FixtureManga(
        slug="blue-sky",
        title="Blue Sky",
        chapter_list="admin_ajax",
        post_id=101,
        chapters=[
            FixtureChapter("Chapter 3 - Broken", "chapter-3", [fixture_image(31), "html", fixture_image(33)]),
            FixtureChapter("Chapter 2.5", "chapter-2-5", [fixture_image(25 + i) for i in range(2)]),
            FixtureChapter("Chapter 2", "chapter-2", [fixture_image(20 + i) for i in range(3)]),
            FixtureChapter("Chapter 2 (re-upload)", "chapter-2-reupload", [fixture_image(90 + i) for i in range(3)]),
            FixtureChapter("Chapter 1", "chapter-1", [fixture_image(10 + i) for i in range(4)]),
        ],
    )
    night = FixtureManga(
        slug="night-sea",
        title="Night Sea",
        chapter_list="ajax",
        post_id=102,
        chapters=[
            FixtureChapter("Ch. 8 - Slow Tide", "chapter-8", [fixture_image(80), "slow", fixture_image(82)]),
            FixtureChapter("Ch. 7 - The Sea", "chapter-7", [fixture_image(70 + i) for i in range(3)]),
        ],
    )
    desert = FixtureManga(
        slug="desert-wind",
        title="Desert Wind",
        chapter_list="page",
        post_id=103,
        chapters=[
            FixtureChapter("الفصل 3", "chapter-3", [fixture_image(300 + i) for i in range(2)]),
            FixtureChapter("الفصل 2", "chapter-2", ["truncated", fixture_image(201)]),
        ],
    )
    extra = [FixtureManga(slug=f"filler-{n}", title=f"Filler {n}", post_id=200 + n) for n in range(1, 14)]
    return [blue, night, desert, *extra]


@dataclass
class Seen:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str  # with the query
    headers: dict[str, str]
    form: dict[str, str]


class MadaraSite:
    """`with MadaraSite() as site:` serves on http://127.0.0.1:<port>/ until the block ends."""

    CATALOG_PAGE_SIZE = 10

    def __init__(self, catalog: list[FixtureManga] | None = None, *, slow_seconds: float = 3.0) -> None:
        self.catalog = catalog if catalog is not None else default_catalog()
        self.slow_seconds = slow_seconds
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.rate_limit_paths: dict[str, int] = {}  # path → how many more 429s to answer
        self.retry_after = "1"
        self.etags = True
        self.image_delay = 0.0  # seconds before every image answer (the kill-the-worker test)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="madara-site", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def __enter__(self) -> MadaraSite:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def manga(self, slug: str) -> FixtureManga:
        return next(m for m in self.catalog if m.slug == slug)

    def chapter_url(self, manga_slug: str, chapter_slug: str) -> str:
        return f"{self.url}manga/{manga_slug}/{chapter_slug}/"

    def image_path(self, manga_slug: str, chapter_slug: str, index: int) -> str:
        return f"{IMAGE_ROOT}/{manga_slug}/{chapter_slug}/{index:02d}.png"

    def seen(self, prefix: str = "", method: str | None = None) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix) and (method is None or r.method == method)]

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.requests.append(seen)

    def take_rate_limit(self, path: str) -> bool:
        with self.lock:
            left = self.rate_limit_paths.get(path.split("?", 1)[0], 0)
            if left:
                self.rate_limit_paths[path.split("?", 1)[0]] = left - 1
            return bool(left)

    # --- pages -------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, str]):
        """(status, headers, body) for one request."""
        if path == "/" and "s" in query:
            return self._search(query["s"][0], 1)
        if path.startswith("/page/") and "s" in query:
            return self._search(query["s"][0], int(path.split("/")[2]))
        if path == "/wp-admin/admin-ajax.php" and method == "POST":
            if form.get("action") != "manga_get_chapters":
                return 400, {}, b"0"
            manga = next((m for m in self.catalog if str(m.post_id) == form.get("manga")), None)
            if manga is None or manga.chapter_list != "admin_ajax":
                return 200, {}, b""
            return _html(_chapter_list(self, manga))
        if path == "/challenge/":
            body = (
                "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                "<script>window._cf_chl_opt={cvId:'3'};</script>"
                '<div id="challenge-body-text">Verifying you are human.</div></body></html>'
            )
            return 403, {"Content-Type": "text/html", "cf-mitigated": "challenge"}, body.encode()
        if path.startswith("/redirect/"):
            # /redirect/<anything> → the address given in ?to=
            return 302, {"Location": query.get("to", ["http://10.0.0.1/"])[0]}, b""
        if path.startswith(IMAGE_ROOT + "/"):
            return self._image(path)
        if path.startswith("/covers/") and path.endswith(".png"):
            return 200, {"Content-Type": "image/png"}, fixture_image(len(path))
        parts = [part for part in path.split("/") if part]
        if parts[:1] == ["manga"]:
            return self._manga_section(method, parts[1:], query)
        if path == "/":
            return _html(_layout("Home", '<div class="site-content">Welcome</div>'))
        return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"

    def _search(self, query: str, page: int):
        hits = [m for m in self.catalog if query.lower() in m.title.lower()]
        items = "".join(
            f'<div class="row c-tabs-item__content"><div class="tab-thumb"><a href="{self.url}manga/{m.slug}/">'
            f'<img data-src="{self.url}covers/{m.slug}.png" src="data:image/gif;base64,R0lGOD" alt="{m.title}"></a>'
            f'</div><div class="tab-summary"><div class="post-title"><h3 class="h4">'
            f'<a href="{self.url}manga/{m.slug}/">{html.escape(m.title)}</a></h3></div></div></div>'
            for m in (hits if page == 1 else [])
        )
        header = f'<div class="c-search-header__wrapper"><h1 class="h4">{len(hits)} results for "{html.escape(query)}"</h1></div>'
        return _html(_layout("Search", header + f'<div class="tab-content-wrap">{items}</div>'))

    def _manga_section(self, method: str, parts: list[str], query: dict):
        if not parts or parts[0] == "page":
            page = int(parts[1]) if len(parts) > 1 else 1
            return self._catalog_page(page)
        manga = next((m for m in self.catalog if m.slug == parts[0]), None)
        if manga is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
        if parts[1:] == ["ajax", "chapters"]:
            if method != "POST" or manga.chapter_list != "ajax":
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
            return _html(_chapter_list(self, manga))
        if len(parts) == 1:
            return _html(_manga_page(self, manga), etag=f'"{manga.slug}-v1"' if self.etags else None)
        chapter = next((c for c in manga.chapters if c.slug == parts[1]), None)
        if chapter is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
        return _html(_reader_page(self, manga, chapter))

    def _catalog_page(self, page: int):
        size = self.CATALOG_PAGE_SIZE
        shown = self.catalog[(page - 1) * size : page * size]
        if not shown:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
        items = "".join(
            f'<div class="page-item-detail manga"><div class="item-thumb"><a href="{self.url}manga/{m.slug}/">'
            f'<img class="img-responsive" data-lazy-src="{self.url}covers/{m.slug}.png" alt=""></a></div>'
            f'<div class="item-summary"><div class="post-title font-title"><h3 class="h5">'
            f'<a href="{self.url}manga/{m.slug}/">{html.escape(m.title)}</a></h3></div></div></div>'
            for m in shown
        )
        more = len(self.catalog) > page * size
        nav = (
            f'<div class="nav-previous float-left"><a href="{self.url}manga/page/{page + 1}/">Older</a></div>'
            if more
            else ""
        )
        return _html(_layout("Manga", f'<div class="page-listing-item">{items}</div>{nav}'))

    def _image(self, path: str):
        segments = path[len(IMAGE_ROOT) + 1 :].split("/")
        if len(segments) != 3:
            return 404, {}, b""
        manga_slug, chapter_slug, name = segments
        manga = next((m for m in self.catalog if m.slug == manga_slug), None)
        chapter = next((c for c in manga.chapters if c.slug == chapter_slug), None) if manga else None
        index = int(name.split(".")[0]) if name.split(".")[0].isdigit() else 0
        if chapter is None or not 1 <= index <= len(chapter.pages):
            return 404, {}, b""
        if self.image_delay:
            time.sleep(self.image_delay)
        page = chapter.pages[index - 1]
        if page == "html":
            return 200, {"Content-Type": "image/png"}, b"<html><body>Hotlinking is not allowed</body></html>"
        if page == "truncated":
            return 200, {"Content-Type": "image/png"}, fixture_image(999)[:120]
        if page == "slow":
            return 200, {"Content-Type": "image/png", "X-Slow": "1"}, fixture_image(998)
        return 200, {"Content-Type": "image/png" if page[:4] == b"\x89PNG" else "image/jpeg"}, page


def _html(body: str, *, etag: str | None = None):
    headers = {"Content-Type": "text/html; charset=UTF-8"}
    if etag:
        headers["ETag"] = etag
    return 200, headers, body.encode()


def _layout(title: str, content: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)} – Fixture Manga</title>"
        "<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script></head>"
        f"<body class='wp-manga'><header><img class='site-logo' src='/logo.png'></header>{content}</body></html>"
    )


def _chapter_list(site: MadaraSite, manga: FixtureManga) -> str:
    items = "".join(
        f'<li class="wp-manga-chapter"><a href="{site.chapter_url(manga.slug, c.slug)}">{html.escape(c.label)}</a>'
        '<span class="chapter-release-date"><i>2 days ago</i></span></li>'
        for c in manga.chapters
    )
    return f'<div class="page-content-listing single-page"><ul class="main version-chap">{items}</ul></div>'


def _manga_page(site: MadaraSite, manga: FixtureManga) -> str:
    genres = ", ".join(f'<a href="{site.url}manga-genre/{g.lower()}/">{g}</a>' for g in manga.genres)
    chapters = _chapter_list(site, manga) if manga.chapter_list == "page" else ""
    holder = f'<div id="manga-chapters-holder" data-id="{manga.post_id}">{chapters}</div>'
    return _layout(
        manga.title,
        f'<div class="post-title"><h1>{html.escape(manga.title)} <span class="manga-title-badges hot">HOT</span></h1></div>'
        f'<div class="summary_image"><img data-src="{site.url}covers/{manga.slug}.png" src="data:image/gif;base64,R0"></div>'
        '<div class="post-content">'
        f'<div class="post-content_item"><div class="summary-heading"><h5>Genre(s)</h5></div>'
        f'<div class="summary-content"><div class="genres-content">{genres}</div></div></div>'
        f'<div class="post-status"><div class="post-content_item"><div class="summary-heading"><h5>Status</h5></div>'
        f'<div class="summary-content">{manga.status}</div></div></div></div>'
        f'<div class="description-summary"><div class="summary__content"><p>{html.escape(manga.synopsis)}</p></div></div>'
        f'<input type="hidden" class="rating-post-id" value="{manga.post_id}">{holder}',
    )


def _reader_page(site: MadaraSite, manga: FixtureManga, chapter: FixtureChapter) -> str:
    images = ['<img class="logo-in-reader" src="/wp-content/uploads/logo.png">']
    for index in range(1, len(chapter.pages) + 1):
        address = site.url.rstrip("/") + site.image_path(manga.slug, chapter.slug, index)
        if chapter.pages[index - 1] == "private":
            address = f"http://169.254.169.254/latest/meta-data/{index:02d}.png"
        # Three lazy-loading styles in turn, as different plugins write them.
        style = index % 3
        if style == 1:
            attributes = f'data-src=" {address} " src="data:image/gif;base64,R0lGOD"'
        elif style == 2:
            attributes = f'data-lazy-src="{address}" src="{site.url}wp-content/themes/madara/images/placeholder.gif"'
        else:
            attributes = f'srcset="{address}?w=300 300w, {address} 800w" src="{address}?w=300"'
        images.append(
            f'<div class="page-break no-gaps"><img id="image-{index - 1}" {attributes} class="wp-manga-chapter-img"></div>'
        )
    images.append(
        '<div class="page-break"><img class="wp-manga-chapter-img ads-banner" src="/ads/banner-728.png"></div>'
    )
    return _layout(
        f"{manga.title} {chapter.label}",
        f'<div class="reading-content"><input type="hidden" id="wp-manga-current-chap" data-id="{manga.post_id}">'
        + "".join(images)
        + "</div>",
    )


def _handler(site: MadaraSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            parts = urlsplit(self.path)
            site.record(Seen(time.monotonic(), method, self.path, dict(self.headers.items()), form))
            if site.take_rate_limit(parts.path):
                self._send(429, {"Retry-After": site.retry_after, "Content-Type": "text/html"}, b"Too many requests")
                return
            status, headers, body = site.answer(method, parts.path, parse_qs(parts.query), form)
            etag = headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                self._send(304, {"ETag": etag}, b"")
                return
            if headers.pop("X-Slow", None):
                self._trickle(status, headers, body)
                return
            self._send(status, headers, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and status != 304:
                self.wfile.write(body)

        def _trickle(self, status: int, headers: dict[str, str], body: bytes) -> None:
            """The slow image: its bytes spread over `slow_seconds`."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            steps = 10
            size = -(-len(body) // steps)
            try:
                for start in range(0, len(body), size):
                    self.wfile.write(body[start : start + size])
                    self.wfile.flush()
                    time.sleep(site.slow_seconds / steps)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler
