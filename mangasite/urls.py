"""Top-level URL map: admin, media for signed-in users, health."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from mangasite.login_throttle import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm  # says "locked" after too many wrong passwords

urlpatterns = [
    # Until the reader exists, the front door is the admin.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("", include("translations.urls")),
]
