"""gunicorn and daphne refuse to serve when the system checks fail (no SECRET_KEY with DEBUG off)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def server_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "DEBUG")}
    env.update(MANGA_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", **extra)
    return env


SERVERS = {
    "daphne": [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", "0", "mangasite.asgi:application"],
    "gunicorn": [str(BIN / "gunicorn"), "-b", "127.0.0.1:0", "--no-control-socket", "mangasite.wsgi:application"],
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_the_server_refuses_to_start_without_a_secret_key(server, tmp_path):
    result = subprocess.run(
        SERVERS[server], cwd=ROOT, env=server_environment(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "the server refuses to start" in result.stderr
    assert "mangasite.E001" in result.stderr


def test_the_wsgi_application_loads_with_a_real_key(tmp_path):
    probe = "import mangasite.wsgi as w; print(callable(w.application))"
    env = server_environment(tmp_path, SECRET_KEY="k7Jp2vQ9xR4mT8wZ1cN6bH3fL5sD0gY-aE_uI7oP9qW2eR4tY")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
