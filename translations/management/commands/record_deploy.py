"""`manage.py record_deploy --version V [--note TEXT]`: one audit entry per deploy (run by deploy/deploy.sh)."""

from __future__ import annotations

import getpass
import socket

from django.core.management.base import BaseCommand, CommandError

from translations.services.audit import audit_record


class Command(BaseCommand):
    help = "Record a deploy (version and note) in the audit log."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Django gives every command a --version (its own); the deploy's version takes that name here.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--version", dest="deploy_version", required=True, help="the version deployed (git sha, tag)"
        )
        parser.add_argument("--note", default="", help="what changed, for the audit log")

    def handle(self, *args, deploy_version: str, note: str, **options) -> None:
        version = deploy_version.strip()
        if not version:
            raise CommandError("--version must not be empty")
        entry = audit_record(
            actor=None,
            action="deploy",
            message=f"deployed {version}" + (f": {note}" if note else ""),
            details={"version": version, "note": note, "host": socket.gethostname(), "by": getpass.getuser()},
        )
        self.stdout.write(f"recorded deploy {version} (audit entry {entry.pk})")
