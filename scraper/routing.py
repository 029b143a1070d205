"""WebSocket routes of the scraper: live download progress."""

from __future__ import annotations

from django.urls import path

from scraper.consumers import DownloadProgressConsumer

websocket_urlpatterns = [
    path("ws/downloads/<int:download_id>/", DownloadProgressConsumer.as_asgi()),
]
