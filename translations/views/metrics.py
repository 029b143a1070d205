"""`/metrics`: the operational figures in the Prometheus text format, for a bearer token or staff.

The values are read from the database at scrape time (translations/figures.py), so every process
and host that writes rows is counted, whichever gunicorn worker answers the scrape.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from translations import figures
from translations.access import is_staff_user

FAMILIES: dict[str, tuple[str, str]] = {
    "mangasite_cold_start_seconds": ("histogram", "Compute-service requests a fresh process served, client-side."),
    "mangasite_page_seconds": ("histogram", "Translated pages, claim to recorded."),
    "mangasite_chapter_10p_seconds": ("histogram", "Chapter runs, job started to finished, per 10 pages."),
    "mangasite_progress_delay_seconds": ("histogram", "Progress events, written to first sent to a browser."),
    "mangasite_compute_requests": ("counter", "Tries to the compute service by HTTP status (or timeout)."),
    "mangasite_compute_retries": ("counter", "Tries to the compute service that repeated a failed one."),
    "mangasite_compute_auth_failures": ("counter", "Compute-service answers 401/403 (a wrong token)."),
    "mangasite_sign_in_failures": ("counter", "Failed sign-ins to the site."),
    "mangasite_pages": ("counter", "Pages finished, by status."),
    "mangasite_queue_jobs": ("gauge", "Translation jobs queued or running."),
    "mangasite_queue_pages_pending": ("gauge", "Pages waiting in active jobs."),
    "mangasite_worker_heartbeat_age_seconds": ("gauge", "Seconds since any worker cluster showed life."),
}
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


class DatabaseCollector:
    """A prometheus_client collector whose samples come from `figures.all_series()`."""

    def collect(self):
        families: dict[str, Metric] = {}
        for (name, labels), value in sorted(figures.all_series().items()):
            family = _family_of(name)
            kind, documentation = FAMILIES[family]
            if family not in families:
                families[family] = Metric(family, documentation, kind)
            families[family].add_sample(name, dict(labels), float(value))
        yield from families.values()


def _family_of(name: str) -> str:
    if name in FAMILIES:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in FAMILIES:
            return name.removesuffix(suffix)
    raise KeyError(f"{name} belongs to no metric family")


@require_GET
def metrics(request) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("a metrics token or a staff session is required\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _allowed(request) -> bool:
    token = settings.MANGA_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    return is_staff_user(request.user)
