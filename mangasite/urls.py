"""Top-level URL map: the reader site, admin, media for those allowed to read, health, the API."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from mangasite.login_throttle import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm  # says "locked" after too many wrong passwords

urlpatterns = [
    path("admin/", admin.site.urls),
    path("scraper/", include("scraper.urls")),
    path("", include("translations.urls")),
    path("", include("translations.api.urls")),
]

# JSON under /api/ when something fails outside the API views; Django's page elsewhere.
handler500 = "translations.api.errors.server_error"
