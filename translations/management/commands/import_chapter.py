"""`manage.py import_chapter`: add one chapter's pages from a folder, .zip or .cbz to the library."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from translations.services.imports import SOURCE_LANGUAGE_CODES, ImportRefused, chapter_import


class Command(BaseCommand):
    help = "Import one chapter's page images from a folder, a .zip or a .cbz."

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", type=Path, help="a folder of page images, or a .zip or .cbz archive")
        parser.add_argument("--manga", required=True, help="the manga's title")
        parser.add_argument("--chapter", required=True, help="the chapter number, e.g. 1 or 10.5")
        parser.add_argument(
            "--lang",
            help=f"the language the pages are written in: {', '.join(SOURCE_LANGUAGE_CODES)} (new manga: ja)",
        )
        parser.add_argument("--slug", help="the manga's slug, when its title does not make a usable one")
        parser.add_argument("--title", default="", help="the chapter's title")

    def handle(self, *args, source: Path, manga: str, chapter: str, lang, slug, title: str, **options) -> None:
        try:
            number = Decimal(chapter)
        except InvalidOperation:
            raise CommandError(f"--chapter {chapter!r} is not a number; give e.g. 1 or 10.5.") from None
        if not number.is_finite() or number < 0:
            raise CommandError(f"--chapter {chapter!r} is not a usable chapter number; give e.g. 1 or 10.5.")
        try:
            result = chapter_import(
                source=source,
                manga_title=manga,
                chapter_number=number,
                language=lang,
                manga_slug=slug,
                chapter_title=title,
            )
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] < 1:
            return
        name = f"{result.manga.title} chapter {result.chapter.slug}"
        if result.already_imported:
            pages = result.chapter.pages.count()
            self.stdout.write(f"{name} is already imported ({pages} pages); nothing changed")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {result.pages_created} pages into {name}"))
