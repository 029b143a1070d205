"""Read-ahead for the local executor: the next pages are read (load → detect → OCR → group) while this one waits.

One background thread per worker process reads the pages the job names, in page order, and keeps at most
`depth + 1` reads (the current page and the next `depth`). Translation stays in the worker's main thread, in page
order, so the context each page gets is what the serial run gives. Reads are memory only: a worker that dies loses
them and nothing else (the pages were never claimed). A read that failed hands its exception to the page's turn,
which fails the way it would have failed without read-ahead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")  # what a read gives: a PageRead (local executor), a DetectResult (split compute path)
ReadKey = tuple[str, str]  # (sha256 of the page bytes, source language): a read never goes stale


def read_key(image: bytes, source_language: str) -> ReadKey:
    return hashlib.sha256(image).hexdigest(), source_language


class PageReader(Generic[T]):
    """Reads pages in one background thread, in the order asked; `take` hands a page its read."""

    def __init__(self, read: Callable[[bytes, str], T], *, depth: int) -> None:
        self._read = read
        self.depth = depth
        self._futures: dict[ReadKey, Future[T]] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # made on first use: after the worker forked

    def prefetch(self, pages: Sequence[tuple[bytes, str]]) -> None:
        """Read these pages (the current one first, then the next ones); forget reads of any other page."""
        wanted = [(read_key(image, language), image, language) for image, language in pages[: self.depth + 1]]
        keys = {key for key, _, _ in wanted}
        with self._lock:
            for key in [key for key in self._futures if key not in keys]:
                self._futures.pop(key).cancel()  # a read not started yet is dropped; one running finishes unused
            for key, image, language in wanted:
                if key not in self._futures:
                    self._futures[key] = self._executor().submit(self._read, image, language)

    def take(self, image: bytes, source_language: str) -> T:
        """This page's read: the one made ahead (waiting for it if it still runs), else one made now.

        Every read runs in the reader thread, so two reads never share the models at once. A read's
        exception is raised here, unchanged.
        """
        key = read_key(image, source_language)
        with self._lock:
            future = self._futures.pop(key, None)
            if future is None or future.cancelled():
                future = self._executor().submit(self._read, image, source_language)
        return future.result()

    def pending(self) -> int:
        with self._lock:
            return len(self._futures)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        return self._pool
