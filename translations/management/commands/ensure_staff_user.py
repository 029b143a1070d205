"""Create the first staff user from DJANGO_SUPERUSER_* env vars, or say how to make one."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser from DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD "
        "(and optional DJANGO_SUPERUSER_EMAIL) if it does not exist yet. Never changes an existing user."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        users = get_user_model().objects
        if not username or not password:
            if users.filter(is_staff=True).exists():
                return
            self.stdout.write(
                "No staff user yet. Set DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD and run this "
                "again, or run: .venv/bin/python manage.py createsuperuser"
            )
            return
        if users.filter(username=username).exists():
            self.stdout.write(f"Staff user {username!r} exists; its password is unchanged.")
            return
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        users.create_superuser(username=username, email=email, password=password)
        self.stdout.write(f"Created staff user {username!r}.")
