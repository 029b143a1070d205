"""`manage.py restore DIR [--replace]`: put a backup made by `manage.py backup` back, after checking it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from translations.services.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore the database and MANGA_DATA_DIR from a backup folder (stop the web server and workers first)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", type=Path, help="a folder made by manage.py backup")
        parser.add_argument("--replace", action="store_true", help="overwrite a database that already holds manga")

    def handle(self, *args, source: Path, replace: bool, **options) -> None:
        try:
            manifest = backup_restore(source=source, replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        counts = ", ".join(f"{n} {name}" for name, n in manifest.counts.items())
        self.stdout.write(f"restored the backup of {manifest.created_at} ({counts}) from {source}")
