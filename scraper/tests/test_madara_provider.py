"""The Madara provider against the local site: search, catalog, details, the three chapter-list styles, images."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scraper.client import SiteClient
from scraper.errors import ScrapeError
from scraper.models import ChapterListMode, ErrorCode
from scraper.providers.madara import MadaraPreset, MadaraProvider

pytestmark = pytest.mark.django_db


def provider(site, **preset) -> MadaraProvider:
    return MadaraProvider(MadaraPreset(base_url=site.url, **preset), SiteClient())


def test_search_asks_for_wp_manga_posts_and_lists_the_hits(site):
    hits = provider(site).search("sea")
    assert [(hit.title, hit.url) for hit in hits] == [("Night Sea", f"{site.url}manga/night-sea/")]
    assert hits[0].cover_url == f"{site.url}covers/night-sea.png"  # data-src, not the data: placeholder
    (seen,) = site.seen("/?")
    assert seen.path == "/?s=sea&post_type=wp-manga"


def test_a_search_without_hits_is_an_empty_list(site):
    assert provider(site).search("nothing like this") == []


def test_the_catalog_is_paged(site):
    first = provider(site).catalog(1)
    second = provider(site).catalog(2)
    assert len(first.items) == 10 and first.has_next
    assert first.items[0].title == "Blue Sky"
    assert first.items[0].cover_url == f"{site.url}covers/blue-sky.png"  # data-lazy-src
    assert len(second.items) == 6 and not second.has_next
    assert [r.path for r in site.seen("/manga/")] == ["/manga/", "/manga/page/2/"]


def test_the_catalog_path_comes_from_the_preset(site):
    with pytest.raises(ScrapeError) as caught:
        provider(site, catalog_path="/webtoon/").catalog(1)
    assert caught.value.code == ErrorCode.HTTP_STATUS
    assert site.seen("/webtoon/")


def test_manga_details_and_chapters_by_admin_ajax(site):
    detail = provider(site).manga(f"{site.url}manga/blue-sky/")
    assert detail.title == "Blue Sky"  # without the HOT badge
    assert detail.status == "OnGoing"
    assert detail.genres == ["Action", "Fantasy"]
    assert detail.synopsis == "A story told in pictures."
    assert detail.cover_url == f"{site.url}covers/blue-sky.png"
    assert [str(c.number) for c in detail.chapters] == ["1", "2", "2.5", "3"]
    assert detail.chapters[3].title == "Broken"
    (post,) = site.seen("/wp-admin/admin-ajax.php", method="POST")
    assert post.form == {"action": "manga_get_chapters", "manga": "101"}
    assert post.headers["X-Requested-With"] == "XMLHttpRequest"
    assert post.headers["Referer"] == f"{site.url}manga/blue-sky/"


def test_a_re_uploaded_chapter_is_listed_once_with_its_alternate(site):
    chapters = provider(site).chapters(f"{site.url}manga/blue-sky/")
    two = next(c for c in chapters if c.number == 2)
    assert two.url == f"{site.url}manga/blue-sky/chapter-2/"
    assert two.alternates == (f"{site.url}manga/blue-sky/chapter-2-reupload/",)


def test_chapters_by_the_newer_ajax_endpoint(site):
    chapters = provider(site).chapters(f"{site.url}manga/night-sea/")
    assert [(c.number, c.title) for c in chapters] == [(Decimal(7), "The Sea"), (Decimal(8), "Slow Tide")]
    assert site.seen("/manga/night-sea/ajax/chapters/", method="POST")
    assert not site.seen("/wp-admin/admin-ajax.php")


def test_chapters_in_the_page_need_no_post(site):
    chapters = provider(site).chapters(f"{site.url}manga/desert-wind/")
    assert [c.number for c in chapters] == [Decimal(2), Decimal(3)]
    assert not site.seen("", method="POST")


def test_a_forced_chapter_list_mode_names_what_it_tried(site):
    with pytest.raises(ScrapeError) as caught:
        provider(site, chapter_list=ChapterListMode.PAGE).chapters(f"{site.url}manga/night-sea/")
    assert caught.value.code == ErrorCode.PARSE
    assert "li.wp-manga-chapter" in str(caught.value)


def test_reader_images_honour_lazy_attributes_and_skip_logos_and_ads(site):
    images = provider(site).page_images(f"{site.url}manga/blue-sky/chapter-1/")
    base = site.url.rstrip("/")
    assert images == [base + site.image_path("blue-sky", "chapter-1", n) for n in range(1, 5)]
    (seen,) = site.seen("/manga/blue-sky/chapter-1/")
    assert seen.path == "/manga/blue-sky/chapter-1/?style=list"


def test_html_that_does_not_match_names_the_selector(site):
    with pytest.raises(ScrapeError) as caught:
        provider(site).page_images(f"{site.url}manga/")
    assert caught.value.code == ErrorCode.PARSE
    assert ".reading-content img.wp-manga-chapter-img" in str(caught.value)


def test_a_preset_selector_replaces_the_default(site):
    with pytest.raises(ScrapeError) as caught:
        provider(site, catalog_item=".no-such-item").catalog(1)
    assert "'.no-such-item' matched nothing" in str(caught.value)
