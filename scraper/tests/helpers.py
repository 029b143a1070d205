"""Builders shared by the scraper tests."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from scraper.models import Source
from scraper.services.downloads import ChapterChoice
from scraper.testing.madara_site import MadaraSite


def make_source(site: MadaraSite, **fields) -> Source:
    return Source.objects.create(**{"name": "Fixture Manga", "base_url": site.url, "language": "ko", **fields})


def chapter_choice(site: MadaraSite, manga_slug: str, chapter_slug: str, number: str) -> ChapterChoice:
    return ChapterChoice(url=site.chapter_url(manga_slug, chapter_slug), number=Decimal(number))


def page_hashes(site: MadaraSite, manga_slug: str, chapter_slug: str) -> list[str]:
    chapter = next(c for c in site.manga(manga_slug).chapters if c.slug == chapter_slug)
    return [hashlib.sha256(page).hexdigest() for page in chapter.pages if isinstance(page, bytes)]
