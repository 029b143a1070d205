"""From "Translate" clicked to the first translated page visible in the reader, with the `test` translator.

A real chromium (Playwright) signed in as staff clicks Translate on the manga page, opens the
reader at once, and waits until page 1 shows the translated image, loaded: the reader learns of
it over the job's WebSocket. daphne serves HTTP and /ws/, a qcluster runs the job with the local
executor (the real pipeline; the `test` translator letters a fixed text). The first run includes
the worker loading the models; the rest are warm. Two-page chapters of the demo (Wikipe-tan).

    .venv/bin/python bench/reader_first_page.py --runs 4
    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/reader_first_page.py   # flushes that db
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "demo" / "wikipe-tan"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    # A SIGTERM still runs the `finally` below, which stops the servers this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scratch = Path(tempfile.mkdtemp(prefix="reader-first-page-"))
    (scratch / "data").mkdir()
    env = {
        **os.environ,
        "MANGA_DATA_DIR": str(scratch / "data"),
        "STATIC_ROOT": str(scratch / "static"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "mangasite.settings",
        "MANGA_TRANSLATE_EXECUTION_BACKEND": "local",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from translations.services.imports import chapter_import

    call_command("migrate", verbosity=0)
    if connection.vendor != "sqlite":
        call_command("flush", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    for number in range(1, args.runs + 1):
        chapter_import(source=DEMO, manga_title="Bench", chapter_number=number, language="ja")  # type: ignore[arg-type]
    user = get_user_model().objects.create_user("bench-staff", password=secrets.token_hex(8), is_staff=True)
    # Signed in the way Django signs in (the configured backend and session engine).
    signed_in = Client()
    signed_in.force_login(user)
    session_key = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    connection.close()

    port = free_port()
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen(
            [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port), "mangasite.asgi:application"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stderr=(scratch / "daphne.log").open("w"),
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stderr=(scratch / "qcluster.log").open("w"),
        ),
    ]
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    figures = []
    try:
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base}])
        page = context.new_page()
        deadline = time.monotonic() + 60
        while True:
            try:
                page.goto(f"{base}/manga/bench/")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for number in range(1, args.runs + 1):
            page.goto(f"{base}/manga/bench/")
            if not page.get_by_label("Translator").count():
                raise SystemExit(f"no staff translate form at {page.url}:\n{page.content()[:2000]}")
            page.get_by_label("Translator").select_option("test")
            row = page.locator(f'tr[data-chapter="{number}"]')
            clicked = time.monotonic()
            row.get_by_role("button", name="Translate").click()
            page.wait_for_url(f"{base}/manga/bench/")
            page.goto(f"{base}/read/bench/{number}/")
            page.wait_for_function(
                "(() => { const img = document.querySelector('#page-1 img.main');"
                " return img.src.includes('/media/results/') && img.complete && img.naturalWidth > 0; })()",
                timeout=600_000,
            )
            seconds = time.monotonic() - clicked
            figures.append(seconds)
            print(f"run {number} ({'cold worker' if number == 1 else 'warm'}): {seconds:.2f} s", flush=True)
        browser.close()
        playwright.stop()
    except BaseException:
        for name in ("qcluster.log", "daphne.log"):
            print(f"--- {name} (last lines)\n" + "\n".join((scratch / name).read_text().splitlines()[-30:]))
        raise
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)
    warm = figures[1:]
    setup = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    print(
        f"setup={setup} translate clicked → first translated page visible: cold {figures[0]:.2f} s"
        + (f", warm median {statistics.median(warm):.2f} s (n={len(warm)})" if warm else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
