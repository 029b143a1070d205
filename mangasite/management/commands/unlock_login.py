"""`manage.py unlock_login USERNAME`: lift a sign-in lock (docs/configuration.md, "Sign-in throttling")."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from mangasite.login_throttle import login_unlock


class Command(BaseCommand):
    help = "Lift the sign-in lock of an account after too many wrong passwords, and forget its failures."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        if login_unlock(username):
            self.stdout.write(self.style.SUCCESS(f"{username} may sign in again."))
        else:
            self.stdout.write(f"{username} was not locked; its failed sign-ins are forgotten.")
