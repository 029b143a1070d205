"""`manage.py scrape search|catalog|chapters|check|download`: the scraper for operators and scripts.

    scrape search SOURCE_URL QUERY
    scrape chapters MANGA_URL
    scrape download MANGA_URL --chapters 1-3,7 [--translate en] [--translator none] [--wait | --sync]

A URL of a host without a source gets one with the generic Madara preset (said on stderr).
`download --wait` follows the workers, `--sync` runs the downloads in this process; either exits
non-zero unless every chapter was imported.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scraper.errors import ScrapeError
from scraper.models import Download, Source
from scraper.providers.base import ChapterRef
from scraper.selectors import library_chapter_numbers
from scraper.services.downloads import ChapterChoice, DownloadRefused, download_request, download_run
from scraper.services.selection import SelectionRefused, select_chapters
from scraper.services.sources import source_check_access, source_for_url_or_generic, source_provider
from translations.models import Translator
from translations.pipeline.languages import TARGET_LANGUAGES

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Search a Madara-family site, list a manga's chapters, or download chapters into the library."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        search = commands.add_parser("search", help="search a source")
        search.add_argument("source_url")
        search.add_argument("query")
        search.add_argument("--page", type=int, default=1)
        catalog = commands.add_parser("catalog", help="list a page of the source's catalog")
        catalog.add_argument("source_url")
        catalog.add_argument("--page", type=int, default=1)
        chapters = commands.add_parser("chapters", help="list a manga's chapters")
        chapters.add_argument("manga_url")
        check = commands.add_parser("check", help="check that a source answers (catalog page 1)")
        check.add_argument("source_url")
        download = commands.add_parser("download", help="download chapters into the library")
        download.add_argument("manga_url")
        download.add_argument("--chapters", required=True, help='"1-3,7", "all" or "new"')
        download.add_argument("--translate", choices=TARGET_LANGUAGES, help="then translate into this language")
        download.add_argument("--translator", choices=Translator.values, help="default: MANGA_DEFAULT_TRANSLATOR")
        mode = download.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="queue, then wait for the workers to finish")
        mode.add_argument("--sync", action="store_true", help="download in this process (no worker needed)")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ScrapeError as exc:
            raise CommandError(f"[{exc.code}] {exc}") from None

    def _source(self, url: str) -> Source:
        source, created = source_for_url_or_generic(url)
        if created:
            self.stderr.write(f"No source was set up for {source.host}: added one with the generic Madara preset.")
        return source

    def _search(self, options: dict) -> None:
        hits = source_provider(self._source(options["source_url"])).search(options["query"], options["page"])
        for hit in hits:
            self.stdout.write(f"{hit.title}\t{hit.url}")
        self.stderr.write(f"{len(hits)} result(s)")

    def _catalog(self, options: dict) -> None:
        page = source_provider(self._source(options["source_url"])).catalog(options["page"])
        for item in page.items:
            self.stdout.write(f"{item.title}\t{item.url}")
        self.stderr.write(f"page {page.page}{', more after it' if page.has_next else ', the last'}")

    def _chapters(self, options: dict) -> None:
        url = options["manga_url"]
        chapters = source_provider(self._source(url)).chapters(url)
        known = library_chapter_numbers(manga_url=url)
        for chapter in chapters:
            mark = "in library" if chapter.number.normalize() in known else "new"
            self.stdout.write(f"{chapter.number}\t{chapter.title}\t{chapter.url}\t{mark}")

    def _check(self, options: dict) -> None:
        ok, message = source_check_access(source=self._source(options["source_url"]))
        if not ok:
            raise CommandError(message)
        self.stdout.write(message)

    def _download(self, options: dict) -> None:
        url = options["manga_url"]
        source = self._source(url)
        provider = source_provider(source)
        detail = provider.manga(url)
        try:
            chosen = select_chapters(
                detail.chapters, options["chapters"], in_library=library_chapter_numbers(manga_url=url)
            )
        except SelectionRefused as exc:
            raise CommandError(str(exc)) from None
        if not chosen:
            raise CommandError(f"No chapter of {detail.title} matches {options['chapters']!r}.")
        downloads = [self._request(source, detail.title, url, chapter, options) for chapter in chosen]
        if options["sync"]:
            for download in downloads:
                download_run(download_id=download.pk, provider=provider)
        elif not options["wait"]:
            self.stdout.write(f"{len(downloads)} download(s) queued; follow them at /scraper/ or with --wait")
            return
        finished = self._follow([download.pk for download in downloads])
        failed = [d for d in finished if d.status != Download.Status.SUCCESS]
        for download in finished:
            line = f"chapter {download.chapter_number.normalize()}: {download.status}"
            if download.status == Download.Status.SUCCESS:
                line += f" → library chapter {download.chapter_id}"
                if download.translation_job_id:
                    line += f", translation job {download.translation_job_id}"
            else:
                line += f" [{download.error_code}] {download.error}"
            self.stdout.write(line)
        if failed:
            raise CommandError(f"{len(failed)} of {len(finished)} chapter(s) were not imported.")

    def _request(self, source: Source, title: str, manga_url: str, chapter: ChapterRef, options: dict) -> Download:
        try:
            download, created = download_request(
                source=source,
                manga_url=manga_url,
                manga_title=title,
                chapter=ChapterChoice(url=chapter.url, number=chapter.number, title=chapter.title),
                translate_to=options["translate"] or "",
                translator=options["translator"] or "",
                enqueue=not options["sync"],
            )
        except DownloadRefused as exc:
            raise CommandError(str(exc)) from None
        state = "queued" if created else f"already {download.status}"
        self.stdout.write(f"download {download.pk}: chapter {chapter.number} ({state})")
        return download

    def _follow(self, ids: list[int]) -> list[Download]:
        while True:
            downloads = list(Download.objects.filter(pk__in=ids).order_by("chapter_number"))
            if all(download.status in Download.FINAL for download in downloads):
                return downloads
            time.sleep(POLL_SECONDS)
