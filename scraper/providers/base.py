"""The provider protocol and the typed shapes a provider hands to the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from scraper.client import SiteClient


@dataclass(frozen=True)
class MangaSummary:
    title: str
    url: str
    cover_url: str = ""


@dataclass(frozen=True)
class CatalogPage:
    items: list[MangaSummary]
    page: int
    has_next: bool


@dataclass(frozen=True)
class ChapterRef:
    number: Decimal
    url: str
    title: str = ""  # the part after the number ("Ch. 7 - The Sea" → "The Sea")
    label: str = ""  # the text as the site shows it
    # Other uploads of the same number (re-uploads, other groups), newest first.
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True)
class MangaDetail:
    title: str
    url: str
    cover_url: str = ""
    status: str = ""
    genres: list[str] = field(default_factory=list)
    synopsis: str = ""
    chapters: list[ChapterRef] = field(default_factory=list)  # ascending by number


class Provider(Protocol):
    """What a source can do. Every method raises ScrapeError (with its code) when it cannot.

    `client` is the chokepoint the provider fetches through; downloads fetch the images with it.
    """

    client: SiteClient

    def search(self, query: str, page: int = 1) -> list[MangaSummary]: ...

    def catalog(self, page: int = 1) -> CatalogPage: ...

    def manga(self, url: str) -> MangaDetail: ...

    def chapters(self, url: str) -> list[ChapterRef]: ...

    def page_images(self, chapter_url: str) -> list[str]: ...

    def check_access(self) -> str: ...
