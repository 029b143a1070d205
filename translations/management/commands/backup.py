"""`manage.py backup DIR`: the database and the data directory into a new folder, with a manifest."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from translations.services.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and MANGA_DATA_DIR (raw/, output/, thumbs/, secret_key) into DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", type=Path, help="a new or empty folder")

    def handle(self, *args, target: Path, **options) -> None:
        try:
            manifest = backup_create(target=target)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        counts = ", ".join(f"{n} {name}" for name, n in manifest.counts.items())
        self.stdout.write(
            f"backed up {manifest.database['vendor']} ({counts}) and {manifest.data['files']} files to {target}"
        )
