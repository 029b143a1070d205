"""`/staff/dashboard/`: the staff operations dashboard (translations/dashboard.py holds its numbers)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils import timezone

from translations.access import is_staff_user
from translations.dashboard import dashboard_figures


def dashboard(request) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff_user(request.user):
        return HttpResponseForbidden("staff only")
    now = timezone.now()
    context = {**admin.site.each_context(request), **dashboard_figures(now=now), "now": now}
    return render(request, "operations/dashboard.html", context)
