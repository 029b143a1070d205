"""Top-level URL map: admin, media for signed-in users, health."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("translations.urls")),
]
