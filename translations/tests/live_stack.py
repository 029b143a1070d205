"""Real processes for end-to-end tests: daphne and a django-q2 cluster on the test's database and data directory.

`stack_factory` (a fixture, registered for every test by the root conftest) starts them; the helpers
sign a user in, read a job's socket until it finishes and wait for a condition with the processes' logs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from PIL import Image
from websockets.sync.client import connect as ws_connect

from translations.pipeline import registry

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wikipe-tan"
TOKEN = "end-to-end token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def models_missing() -> list[str]:
    specs = registry.default_manifest().values()
    model_dir = django_settings.MANGA_MODEL_DIR
    return [s.name for s in specs if not s.optional and registry.state_of(s, model_dir) is registry.ModelState.MISSING]


class Stack:
    """daphne and qcluster as subprocesses, on the database and data directory of this test."""

    def __init__(self, data_dir: Path, log_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.port = free_port()
        self.env = self._environment(env)
        self.processes: dict[str, subprocess.Popen] = {}

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY")}
        database = connection.settings_dict
        if database["ENGINE"].endswith("sqlite3"):
            # The workers find the test database where the settings look for it: MANGA_DATA_DIR/mangasite.sqlite3.
            link = self.data_dir / "mangasite.sqlite3"
            if not link.exists():
                link.symlink_to(Path(database["NAME"]).resolve())
        else:
            user, password = database["USER"] or "", database["PASSWORD"] or ""
            auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
            env["DATABASE_URL"] = f"postgres://{auth}{database['HOST']}:{database['PORT']}/{database['NAME']}"
        if django_settings.REDIS_URL:
            env["REDIS_URL"] = django_settings.REDIS_URL
        # Tasks are signed with SECRET_KEY: the workers must share this process's.
        if django_settings.SECRET_KEY == django_settings.UNSET_SECRET_KEY:
            env["DEBUG"] = "1"
        else:
            env["SECRET_KEY"] = django_settings.SECRET_KEY
        env.update(MANGA_DATA_DIR=str(self.data_dir), MANGA_Q_WORKERS="2", PYTHONUNBUFFERED="1", **extra)
        return env

    def start(self, name: str) -> subprocess.Popen:
        if name == "daphne":
            command = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port)]
            command.append("mangasite.asgi:application")
        else:
            command = [sys.executable, "manage.py", "qcluster"]
        log = (self.log_dir / f"{name}.log").open("a")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        if name == "daphne":
            self._wait_for_http(process)
        return process

    def _wait_for_http(self, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"daphne exited with {process.returncode}:\n{self.logs()}"
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"daphne did not answer within {timeout}s:\n{self.logs()}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process and everything it started (qcluster: its workers, monitor, pusher)."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        # qcluster's graceful stop can wait out its task timeout; nothing here needs it to be graceful.
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM if name == "daphne" else signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-6000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def websocket(self, path: str, session_key: str):
        return ws_connect(  # type: ignore[call-overload]
            f"ws://127.0.0.1:{self.port}{path}",
            origin=f"http://127.0.0.1:{self.port}",
            additional_headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session_key}"},
            open_timeout=10,
        )


@pytest.fixture
def stack_factory(data_dir, tmp_path):
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(data_dir, tmp_path, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
        print(stack.logs())  # shown by pytest only when the test fails


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def read_until_finished(socket, timeout: float = 180) -> list[dict]:
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
        messages.append(message)
        if message["type"] == "job.finished":
            return messages
    raise AssertionError(f"no job.finished within {timeout}s: {messages}")


def wait_for(condition, timeout: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout}s\n{stack.logs()}")


def blank_page() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 600), "white").save(buffer, format="PNG")
    return buffer.getvalue()
