"""`manage.py glossary export|import SLUG`: a manga's accepted glossary terms as JSON in the dict/ format."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from translations.models import Manga
from translations.pipeline.translators.dictionaries import DictionaryError
from translations.services.glossary import glossary_export, glossary_import


class Command(BaseCommand):
    help = "Export a manga's accepted glossary terms, or import a glossary file as accepted terms."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=("export", "import"))
        parser.add_argument("manga", help="the manga's slug")
        parser.add_argument("file", nargs="?", type=Path, help="import: the JSON file; export: where to write (stdout)")

    def handle(self, *args, action: str, manga: str, file: Path | None, **options) -> None:
        found = Manga.objects.filter(slug=manga).first()
        if found is None:
            raise CommandError(f"no manga with the slug {manga!r}")
        if action == "export":
            text = json.dumps(glossary_export(manga=found), ensure_ascii=False, indent=2) + "\n"
            if file is None:
                sys.stdout.write(text)
            else:
                file.write_text(text, encoding="utf-8")
            return
        if file is None:
            raise CommandError("import needs the JSON file to read")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        try:
            counts = glossary_import(manga=found, data=data)
        except DictionaryError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{found.slug}: {counts['created']} term(s) added, {counts['updated']} updated (accepted)")
