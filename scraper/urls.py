"""URLs of the staff scraper page."""

from __future__ import annotations

from django.urls import path

from scraper import views

app_name = "scraper"

urlpatterns = [
    path("", views.index, name="index"),
    path("sources/<int:source_id>/check", views.check_access, name="check"),
    path("sources/<int:source_id>/search", views.search, name="search"),
    path("sources/<int:source_id>/catalog", views.catalog, name="catalog"),
    path("sources/<int:source_id>/manga", views.manga, name="manga"),
    path("sources/<int:source_id>/downloads", views.queue_downloads, name="queue"),
    path("downloads/<int:download_id>/", views.download_detail, name="download"),
    path("downloads/<int:download_id>/cancel", views.download_action, {"action": "cancel"}, name="cancel"),
    path("downloads/<int:download_id>/retry", views.download_action, {"action": "retry"}, name="retry"),
]
