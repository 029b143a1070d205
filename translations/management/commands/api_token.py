"""`manage.py api_token USERNAME`: print a new API token for operators and scripts (shown once)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from translations.services.tokens import token_create


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it (only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for")
        parser.add_argument("--expires-days", type=int, default=None, help="days until it expires (default: never)")

    def handle(self, *args, username: str, name: str, expires_days: int | None, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is disabled; a token of theirs would not work.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        try:
            issued = token_create(
                user=user, name=name, expires_in=timedelta(days=expires_days) if expires_days else None
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # Only the token on stdout, so that `TOKEN=$(manage.py api_token alice)` works.
        self.stdout.write(issued.secret)
        expiry = f"expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC" if issued.token.expires_at else "never expires"
        self.stderr.write(f"Token {issued.token.prefix}… for {username} ({name}); {expiry}. It is not shown again.")
