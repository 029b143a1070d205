"""The HTTP server as deploy/ ships it, for the web benchmarks: gunicorn with deploy/gunicorn.conf.py.

Only the bind address (and, where a bench compares sizes, the worker and thread counts) differs
from production, through the same environment variables an operator sets (docs/configuration.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def gunicorn_command() -> list[str]:
    return [str(Path(sys.executable).parent / "gunicorn"), "-c", str(CONFIG), "mangasite.wsgi:application"]


def gunicorn_env(port: int, *, workers: int = 2, threads: int = 4) -> dict[str, str]:
    return {
        "MANGA_WEB_BIND": f"127.0.0.1:{port}",
        "MANGA_WEB_WORKERS": str(workers),
        "MANGA_WEB_THREADS": str(threads),
    }
