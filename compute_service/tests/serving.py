"""Test support: the compute service started with `python -m compute_service` on a free loopback port."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image, ImageDraw, ImageFont

from compute_service import contract
from translations.pipeline import registry

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("MANGA_MODEL_DIR") or ROOT / "data" / "models")
TOKEN = "test-token-0123456789abcdef"
PREVIOUS_TOKEN = "previous-token-0123456789"
CJK_FONT = ROOT / "fonts" / "NotoSansCJKjp-Regular-subset.otf"


def models_missing() -> str | None:
    """A skip reason when the required models are not fetched and verified, else None."""
    missing = [
        spec.name
        for spec in registry.default_manifest().values()
        if not spec.optional and registry.state_of(spec, MODEL_DIR) is not registry.ModelState.PRESENT
    ]
    return f"models not fetched ({', '.join(missing)}): run `python manage.py models fetch`" if missing else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        self.env = {
            **base,
            "MANGA_INTERNAL_API_TOKEN": TOKEN,
            "MANGA_MODEL_DIR": str(MODEL_DIR),
            "MANGA_ONNX_THREADS": base.get("MANGA_ONNX_THREADS", "2"),
            **env,
        }
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Service:
        command = [sys.executable, "-m", "compute_service", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}:\n{self.output()}")
            try:
                requests.get(self.url + contract.HEALTH_PATH, timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"the service did not listen within {timeout}s:\n{self.output()}")

    def wait_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = requests.get(self.url + contract.HEALTH_PATH, timeout=5).json()
            if health["status"] != "warming_up":
                return health
            time.sleep(0.1)
        raise RuntimeError("still warming up")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def post_page(self, request: contract.PageRequest, token: str | None = TOKEN, **kwargs) -> requests.Response:
        headers = contract.request_headers(token) if token is not None else {}
        return requests.post(
            self.url + contract.TRANSLATE_PATH, headers=headers, timeout=120, **request.to_multipart(), **kwargs
        )


def manga_page(fmt: str = "PNG") -> bytes:
    """An 820×1160 page with two balloons of vertical Japanese and a panel border."""
    page = Image.new("RGB", (820, 1160), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, 800, 1140), outline="black", width=4)
    font = ImageFont.truetype(str(CJK_FONT), 30)
    for box, columns in (((460, 80, 760, 500), ["こんにちは", "元気ですか"]), ((100, 600, 360, 1000), ["ありがとう"])):
        draw.ellipse(box, outline="black", width=3, fill="white")
        x = (box[0] + box[2]) // 2 + (len(columns) - 1) * 20
        for text in columns:
            y = box[1] + (box[3] - box[1] - len(text) * 35) // 2
            for char in text:
                draw.text((x - 15, y), char, font=font, fill="black")
                y += 35
            x -= 39
    buffer = io.BytesIO()
    page.save(buffer, format=fmt)
    return buffer.getvalue()


def page_request(image: bytes, **overrides) -> contract.PageRequest:
    fields = {"image": image, "source_language": "ja", "target_language": "en", "translator": "test"}
    return contract.PageRequest(**{**fields, **overrides})
