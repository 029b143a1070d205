"""Per-host request spacing shared by every process: one row per host says when the next request may start.

A request reserves the next slot in a short transaction (the row is locked while it moves the
slot on by one interval), then sleeps until its slot outside any transaction. Two workers
downloading from one site therefore share its rate limit instead of doubling it. A
`Retry-After` pushes the slot out for everyone.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from scraper.models import HostThrottle

# Slots are spaced by the interval times 1.0–1.1, so the observed rate stays under the limit.
JITTER = 0.1


def throttle_reserve(host: str, interval: float) -> float:
    """Reserve the host's next request slot; returns the seconds until it (0 when it is now)."""
    spacing = timedelta(seconds=interval * (1 + random.uniform(0, JITTER)))  # noqa: S311 (not crypto)
    for _ in range(3):
        try:
            with transaction.atomic():
                row = HostThrottle.objects.select_for_update().filter(host=host).first()
                now = timezone.now()
                if row is None:
                    HostThrottle.objects.create(host=host, next_request_at=now + spacing)
                    return 0.0
                slot = max(now, row.next_request_at)
                HostThrottle.objects.filter(host=host).update(next_request_at=slot + spacing)
                return (slot - now).total_seconds()
        except IntegrityError:  # another process created the row first: take a slot from it
            continue
    raise RuntimeError(f"could not reserve a request slot for {host}")


def throttle_wait(host: str, interval: float) -> None:
    delay = throttle_reserve(host, interval)
    release_thread_connection()
    if delay > 0:
        time.sleep(delay)


def throttle_defer(host: str, seconds: float) -> None:
    """Hold every request to `host` for `seconds` (the site said Retry-After)."""
    until = timezone.now() + timedelta(seconds=seconds)
    with transaction.atomic():
        updated = HostThrottle.objects.filter(host=host, next_request_at__lt=until).update(next_request_at=until)
        if not updated and not HostThrottle.objects.filter(host=host).exists():
            HostThrottle.objects.create(host=host, next_request_at=until)


def release_thread_connection() -> None:
    """A helper thread (a download's fetchers, its heartbeat) gives its connection back between uses.

    PostgreSQL connections come from a small per-process pool (MANGA_DB_POOL_MAX_SIZE); a fetcher
    that kept its connection through a slow image would starve the others. The main thread keeps
    its connection as Django always does, and nothing is closed inside a transaction.
    """
    if threading.current_thread() is not threading.main_thread() and not connection.in_atomic_block:
        connection.close()
