"""`/healthz`: is the database reachable. Used by systemd, nginx and the demo script."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not healthy", with the reason
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})
