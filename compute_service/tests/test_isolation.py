"""The compute service ships without the web app: importing and serving it must not import Django or the site.

Forbidden, with the reason: `django` (all of it: the app is plain ASGI and uvicorn does not need it,
so any Django module is a leak of the web side), `django_q`, `rest_framework`, `channels`,
`channels_redis`, `dj_database_url`, `psycopg`, `redis`, `whitenoise` (database, queue, API and
channel layer: none exists in the service), `mangasite` (the web settings), `scraper`, and every
`translations.*` module outside `translations.pipeline` (the models, jobs, views and admin).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from compute_service.tests.serving import ROOT, TOKEN

FORBIDDEN_PACKAGES = (
    "django",
    "django_q",
    "rest_framework",
    "channels",
    "channels_redis",
    "dj_database_url",
    "psycopg",
    "redis",
    "whitenoise",
    "mangasite",
    "scraper",
)
PROBE = """
import asyncio, io, json, sys
import uvicorn  # the server the service runs under, imported as __main__ does
from PIL import Image
from compute_service import contract
from compute_service.app import ComputeApp
from compute_service.config import load_config

app = ComputeApp(load_config())
app.start()
app.warmup.wait()
buffer = io.BytesIO()
Image.new("RGB", (64, 64), "white").save(buffer, format="PNG")
request = contract.PageRequest(buffer.getvalue(), "ja", "en", "none")
import requests
prepared = requests.Request("POST", "http://x/", **request.to_multipart()).prepare()
headers = [(b"x-internal-token", sys.argv[1].encode()), (b"content-type", prepared.headers["Content-Type"].encode())]
messages = [{"type": "http.request", "body": prepared.body, "more_body": False}]
sent = []

async def receive():
    return messages.pop(0)

async def send(message):
    sent.append(message)

scope = {"type": "http", "method": "POST", "path": contract.TRANSLATE_PATH, "headers": headers}
asyncio.run(app(scope, receive, send))
print(json.dumps({"status": sent[0]["status"], "modules": sorted(sys.modules)}))
"""


def test_importing_and_serving_a_page_imports_neither_django_nor_the_web_app():
    env = {**os.environ, "MANGA_INTERNAL_API_TOKEN": TOKEN}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, TOKEN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] in (200, 503)  # 503 where the models are not fetched: the path is served either way
    modules = outcome["modules"]
    assert "translations.pipeline.engine" in modules  # the probe did reach the pipeline
    leaked = [name for name in modules if name.split(".")[0] in FORBIDDEN_PACKAGES]
    leaked += [
        name for name in modules if name.startswith("translations.") and not name.startswith("translations.pipeline")
    ]
    assert leaked == []
