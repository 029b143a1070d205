"""gunicorn and daphne refuse to serve when the system checks fail (no SECRET_KEY with DEBUG off); a process that
sets Django up does not import the servers it does not run; `manage.py runserver` is daphne's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

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


REAL_KEY = "k7Jp2vQ9xR4mT8wZ1cN6bH3fL5sD0gY-aE_uI7oP9qW2eR4tY"


def test_a_translate_page_process_imports_no_server_and_no_llm_client(tmp_path):
    """Start-up of a worker or translate_page (issue 13): daphne's app pulled twisted and autobahn into every
    process, and the openai_compat translator google-genai; both are imported only by those that use them."""
    probe = (
        "import sys, django; django.setup();"
        "import translations.management.commands.translate_page;"
        "from translations.pipeline.factory import get_translator; get_translator('test');"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'daphne', 'twisted', 'autobahn', 'google'})))"
    )
    env = server_environment(tmp_path, SECRET_KEY=REAL_KEY, DJANGO_SETTINGS_MODULE="mangasite.settings")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_runserver_is_daphnes_and_serves_http_and_the_sockets(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = server_environment(tmp_path, SECRET_KEY=REAL_KEY, DEBUG="1")
    # The development server on its own SQLite file: the services run's DATABASE_URL names a
    # database that only the test runner creates (test_mangasite), and its tables are not ours.
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "runserver did not answer within 60 s"
                time.sleep(0.2)
        assert health.status_code == 200
        # The job socket's route answers the handshake (and refuses an anonymous reader of a private library):
        # a WSGI runserver has no such route and would answer 404.
        with pytest.raises(InvalidStatus) as refused:
            with ws_connect(f"ws://127.0.0.1:{port}/ws/jobs/1/", open_timeout=10):
                pass
        assert refused.value.response.status_code == 403
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Starting ASGI/Daphne" in output
