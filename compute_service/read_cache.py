"""Pages the split path has read (detected) and not yet rendered, in memory, each under an opaque key for a while.

Bounded twice: an entry lives `ttl_s` seconds, and at most `max_entries` are held (the oldest goes first). A key is
used once: `pop` hands the entry out and forgets it. Nothing survives a restart, and another instance of the
service has its own cache; a render whose key is gone falls back to the unified path (docs/compute-service.md).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TTL_S = 300  # a page's translation takes seconds to a minute; five minutes leaves room for retries
DEFAULT_MAX_ENTRIES = 8  # decoded pages: ~3 MB each as RGB, ~30 MB for a long webtoon strip


class ReadCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0  # dropped for room (not for age): the metric that says the cache is too small
        self.expired = 0

    def put(self, value: T) -> str:
        key = secrets.token_hex(16)
        with self._lock:
            self._drop_expired()
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
                self.evicted += 1
            self._entries[key] = (self.clock() + self.ttl_s, value)
        return key

    def pop(self, key: str) -> T | None:
        """The entry, once; None when it expired, was evicted, or never was."""
        with self._lock:
            self._drop_expired()
            entry = self._entries.pop(key, None)
        return entry[1] if entry else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
            self.expired += 1
