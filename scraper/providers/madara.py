"""The generic WordPress "Madara" provider: search, catalog, manga details, chapter lists and reader images.

Madara sites share one theme, so one provider with per-host presets (a `Source` row: catalog path,
selectors, language, chapter-list mode) covers the family. Chapter lists come from the manga page
itself, or (newer theme) a POST to `<manga-url>ajax/chapters/`, or (older) a POST to
`wp-admin/admin-ajax.php` with `action=manga_get_chapters`. Reader images are
`.reading-content img.wp-manga-chapter-img`, whose real address is often in a lazy-loading
attribute; logos, ads and avatars inside the reading area are skipped.

HTML is parsed with Beautiful Soup on the standard library's parser (forgiving of the broken
markup these sites serve) and CSS selectors via soupsieve.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scraper.client import SiteClient
from scraper.errors import ScrapeError
from scraper.models import ChapterListMode, ErrorCode
from scraper.providers.base import CatalogPage, ChapterRef, MangaDetail, MangaSummary
from scraper.providers.chapter_numbers import chapter_title, parse_chapter_number

SEARCH_ITEM = ".c-tabs-item__content, .row.c-tabs-item__content, .search-wrap .tab-content-wrap .c-tabs-item"
CATALOG_ITEM = ".page-item-detail, .manga-item, .c-image-hover"
TITLE_LINK = ".post-title a, h3 a, h5 a"
CHAPTER_ITEM = "li.wp-manga-chapter"
IMAGE = ".reading-content img.wp-manga-chapter-img, .reading-content .page-break img"
MANGA_TITLE = ".post-title h1, .post-title h3, h1.entry-title"
# Lazy-loading plugins keep the real address in these, in this order of trust.
LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-cfsrc", "srcset", "data-srcset", "src")
# What sits in the reading area but is not a page.
NOT_A_PAGE = ("logo", "avatar", "banner", "/ads/", "advert", "gravatar", "emoji", "loading.gif", "placeholder")


@dataclass(frozen=True)
class MadaraPreset:
    """A source's preset (scraper.models.Source), in the shape the provider reads."""

    base_url: str
    catalog_path: str = "/manga/"
    chapter_list: str = ChapterListMode.AUTO
    search_item: str = ""
    catalog_item: str = ""
    chapter_item: str = ""
    image: str = ""


class MadaraProvider:
    def __init__(self, preset: MadaraPreset, client: SiteClient) -> None:
        self.preset = preset
        self.client = client
        self.base = preset.base_url if preset.base_url.endswith("/") else preset.base_url + "/"

    # --- search and catalog ---------------------------------------------------------------
    def search(self, query: str, page: int = 1) -> list[MangaSummary]:
        query = query.strip()
        if not query:
            raise ScrapeError(ErrorCode.BAD_URL, "Give something to search for.")
        path = "" if page <= 1 else f"page/{page}/"
        url = urljoin(self.base, path) + "?" + urlencode({"s": query, "post_type": "wp-manga"})
        soup = self._soup(url)
        selector = self.preset.search_item or SEARCH_ITEM
        items = soup.select(selector)
        if not items and soup.select_one(".c-search-header__wrapper, .search-wrap, .not-found-content") is None:
            raise _nothing_matched(selector, url)
        return _summaries(items, url)

    def catalog(self, page: int = 1) -> CatalogPage:
        path = self.preset.catalog_path.strip("/")
        url = urljoin(self.base, f"{path}/" if page <= 1 else f"{path}/page/{page}/")
        soup = self._soup(url)
        selector = self.preset.catalog_item or CATALOG_ITEM
        items = soup.select(selector)
        if not items:
            raise _nothing_matched(selector, url)
        next_link = soup.select_one(".nav-previous a, a.nextpostslink, .wp-pagenavi a.next, a.next.page-numbers")
        has_next = next_link is not None or soup.select_one(f'a[href*="/page/{page + 1}/"]') is not None
        return CatalogPage(items=_summaries(items, url), page=page, has_next=has_next)

    # --- one manga ---------------------------------------------------------------------------
    def manga(self, url: str) -> MangaDetail:
        soup = self._soup(url)
        title_tag = soup.select_one(MANGA_TITLE)
        if title_tag is None:
            raise _nothing_matched(MANGA_TITLE, url)
        for badge in title_tag.select("span"):  # "HOT", "NEW" badges inside the heading
            badge.decompose()
        cover = soup.select_one(".summary_image img")
        return MangaDetail(
            title=_clean(title_tag.get_text(" ")),
            url=url,
            cover_url=_image_address(cover, url) if cover else "",
            status=_summary_value(soup, ("status",)),
            genres=[_clean(a.get_text()) for a in soup.select(".genres-content a")],
            synopsis=_clean(
                " ".join(
                    tag.get_text(" ")
                    for tag in soup.select(".description-summary .summary__content, .manga-excerpt, .summary__content")
                )
            ),
            chapters=self._chapters_from(soup, url),
        )

    def chapters(self, url: str) -> list[ChapterRef]:
        return self._chapters_from(self._soup(url), url)

    def _chapters_from(self, soup: BeautifulSoup, manga_url: str) -> list[ChapterRef]:
        selector = self.preset.chapter_item or CHAPTER_ITEM
        mode = self.preset.chapter_list
        items: list[Tag] = soup.select(selector) if mode in (ChapterListMode.AUTO, ChapterListMode.PAGE) else []
        tried = [f"{selector} in the manga page"]
        if not items and mode in (ChapterListMode.AUTO, ChapterListMode.AJAX):
            ajax_url = manga_url.split("?", 1)[0].rstrip("/") + "/ajax/chapters/"
            items = self._ajax_items(ajax_url, {}, manga_url, selector, tolerate_missing=mode == ChapterListMode.AUTO)
            tried.append(f"POST {ajax_url}")
        if not items and mode in (ChapterListMode.AUTO, ChapterListMode.ADMIN_AJAX):
            manga_id = _manga_id(soup)
            if manga_id is None:
                tried.append("admin-ajax.php (no manga id in the page: #manga-chapters-holder[data-id])")
            else:
                admin_url = urljoin(self.base, "wp-admin/admin-ajax.php")
                data = {"action": "manga_get_chapters", "manga": manga_id}
                items = self._ajax_items(admin_url, data, manga_url, selector, tolerate_missing=False)
                tried.append(f"POST {admin_url} manga={manga_id}")
        if not items:
            raise ScrapeError(ErrorCode.PARSE, f"No chapters found for {manga_url}; tried {'; '.join(tried)}.")
        return _chapter_refs(items, manga_url)

    def _ajax_items(
        self, url: str, data: dict[str, str], referer: str, selector: str, *, tolerate_missing: bool
    ) -> list[Tag]:
        try:
            response = self.client.post(url, data=data, referer=referer)
        except ScrapeError as exc:
            if tolerate_missing and exc.code == ErrorCode.HTTP_STATUS:
                return []  # an older theme without the endpoint: the next way is tried
            raise
        return BeautifulSoup(response.text(), "html.parser").select(selector)

    # --- reader ---------------------------------------------------------------------------------
    def page_images(self, chapter_url: str) -> list[str]:
        # ?style=list asks Madara for every image of the chapter on one page.
        separator = "&" if "?" in chapter_url else "?"
        url = chapter_url if "style=list" in chapter_url else f"{chapter_url}{separator}style=list"
        soup = self._soup(url)
        selector = self.preset.image or IMAGE
        images = soup.select(selector)
        if not images:
            raise _nothing_matched(selector, url)
        addresses: list[str] = []
        for image in images:
            address = _image_address(image, url)
            if not address or _not_a_page(image, address) or address in addresses:
                continue
            addresses.append(address)
        if not addresses:
            raise ScrapeError(ErrorCode.PARSE, f"{url}: {selector} matched only logos, ads or empty images.")
        return addresses

    def check_access(self) -> str:
        """Fetch the catalog's first page: proves the guard, politeness, cookies and selectors together."""
        page = self.catalog(1)
        return f"catalog page 1 lists {len(page.items)} manga"

    def _soup(self, url: str) -> BeautifulSoup:
        return BeautifulSoup(self.client.get(url).text(), "html.parser")


def _nothing_matched(selector: str, url: str) -> ScrapeError:
    return ScrapeError(
        ErrorCode.PARSE,
        f"{url}: the selector {selector!r} matched nothing; the site's layout differs from the preset "
        "(set the source's selectors in admin).",
    )


def _summaries(items: list[Tag], page_url: str) -> list[MangaSummary]:
    summaries, seen = [], set()
    for item in items:
        link = item.select_one(TITLE_LINK) or item.select_one("a[href]")
        if link is None or not link.get("href"):
            continue
        url = urljoin(page_url, str(link["href"]))
        if url in seen:
            continue
        seen.add(url)
        image = item.select_one("img")
        summaries.append(
            MangaSummary(
                title=_clean(link.get_text(" ")) or _clean(str(link.get("title", ""))),
                url=url,
                cover_url=_image_address(image, page_url) if image else "",
            )
        )
    return summaries


def _chapter_refs(items: list[Tag], page_url: str) -> list[ChapterRef]:
    """One entry per chapter number, ascending; Madara lists newest first, so the first seen is the newest upload."""
    by_number: dict = {}
    for item in items:
        link = item.select_one("a[href]")
        if link is None:
            continue
        url = urljoin(page_url, str(link["href"]))
        label = _clean(link.get_text(" "))
        number = parse_chapter_number(label, url)
        if number is None:
            continue
        if number in by_number:
            first = by_number[number]
            if url != first.url and url not in first.alternates:
                by_number[number] = ChapterRef(
                    first.number, first.url, first.title, first.label, (*first.alternates, url)
                )
            continue
        by_number[number] = ChapterRef(number=number, url=url, title=chapter_title(label), label=label)
    return [by_number[number] for number in sorted(by_number)]


def _manga_id(soup: BeautifulSoup) -> str | None:
    holder = soup.select_one("#manga-chapters-holder[data-id]")
    if holder is not None:
        return str(holder["data-id"])
    for selector, attribute in ((".rating-post-id", "value"), ("#wp-manga-current-chap", "data-id")):
        tag = soup.select_one(selector)
        if tag is not None and tag.get(attribute):
            return str(tag[attribute])
    return None


def _image_address(image: Tag, page_url: str) -> str:
    for attribute in LAZY_ATTRIBUTES:
        value = str(image.get(attribute) or "").strip()
        if not value or value.startswith("data:"):
            continue
        if "srcset" in attribute:
            value = _largest_in_srcset(value)
        return urljoin(page_url, value)
    return ""


def _largest_in_srcset(srcset: str) -> str:
    best, best_width = "", -1.0
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if not parts:
            continue
        width = 0.0
        if len(parts) > 1 and parts[1][:-1].replace(".", "", 1).isdigit():
            width = float(parts[1][:-1])
        if width > best_width:
            best, best_width = parts[0], width
    return best


def _not_a_page(image: Tag, address: str) -> bool:
    classes = " ".join(image.get("class") or []).lower()
    text = f"{classes} {image.get('alt') or ''} {urlsplit(address).path}".lower()
    return any(word in text for word in NOT_A_PAGE)


def _summary_value(soup: BeautifulSoup, headings: tuple[str, ...]) -> str:
    for item in soup.select(".post-content_item, .post-status .post-content_item"):
        heading = item.select_one(".summary-heading")
        value = item.select_one(".summary-content")
        if heading and value and _clean(heading.get_text()).lower().rstrip(":") in headings:
            return _clean(value.get_text(" "))
    return ""


def _clean(text: str) -> str:
    return " ".join(text.split())
