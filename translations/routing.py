"""WebSocket routes. Live job progress (/ws/jobs/<id>/, DESIGN §7) is added here."""

from __future__ import annotations

websocket_urlpatterns: list = []
