"""URLs of the translations app."""

from __future__ import annotations

from django.urls import path

from translations.views import dashboard, health, media, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("staff/dashboard/", dashboard.dashboard, name="staff-dashboard"),
    path("media/pages/<int:page_id>/image", media.page_image, name="page-image"),
    path("media/pages/<int:page_id>/thumbnail", media.page_thumbnail, name="page-thumbnail"),
]
