"""First-run setup (`/setup`): the first staff account, while no account exists; 404 afterwards."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from translations.forms import SetupForm

SETUP_LOCK = 0x6D616E6761  # any fixed number: the advisory lock that first-run setups queue on


def setup(request) -> HttpResponse:
    User = get_user_model()
    if User.objects.exists():
        raise Http404("setup is done")
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Checked again inside the write: two first visitors racing make one account, not two.
            # SQLite's IMMEDIATE transactions serialise writers; PostgreSQL needs a lock of its own.
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SETUP_LOCK])
            if User.objects.exists():
                raise Http404("setup is done")
            user = form.save(commit=False)
            user.is_staff = True
            user.is_superuser = True
            user.save()
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return redirect("library")
    return render(request, "accounts/setup.html", {"form": form})
