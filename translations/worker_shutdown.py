"""A qcluster worker asked to stop (SIGTERM or SIGINT) finishes the page in flight and hands the rest of its job back.

systemd (KillMode=control-group) and docker send SIGTERM to every process of the cluster at once.
django-q2 lets that signal kill its sentinel, pusher, monitor and workers on the spot (or hang),
so our `qcluster` command (mangasite/management/commands/qcluster.py) makes those processes ignore
it and stop through the cluster's own orderly shutdown instead, and installs `on_stop_signal` in
every worker. `job_run` checks `stop_requested()` before it claims each page: a job is put back in
the broker, so the next cluster continues it where this one stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from multiprocessing import current_process

logger = logging.getLogger(__name__)

_stop = threading.Event()


def stop_requested() -> bool:
    return _stop.is_set()


def on_stop_signal(signum: int, frame) -> None:
    timer = getattr(current_process(), "timer", None)
    if signum == signal.SIGTERM and timer is not None and timer.value == 0:
        # django-q2's own kill of a task past its timeout (the timer ran out): die, as it expects.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if not _stop.is_set():
        logger.info("worker %s: stop requested; finishing the page in flight", os.getpid())
    _stop.set()


def install_in_worker(**kwargs) -> None:
    """django-q2's `post_spawn` receiver: runs in each worker process as it starts."""
    _stop.clear()
    signal.signal(signal.SIGTERM, on_stop_signal)
    signal.signal(signal.SIGINT, on_stop_signal)
