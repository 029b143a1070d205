"""Test support: the production serving shape as real processes — gunicorn (HTTP), daphne (WebSockets),
qcluster (workers) and Debian's nginx with the shipped site — on loopback ports, against the test database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import requests

from translations.tests.live_stack import ROOT, Stack

SITE = ROOT / "deploy" / "nginx" / "mangasite.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def distinct_free_ports(count: int) -> list[int]:
    """Ports the kernel picked (port 0), all held at once so no two are the same."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def nginx_missing() -> str | None:
    return None if Path(NGINX).exists() else "Debian nginx is not installed (make system-deps)"


def substitute(text: str, replacements: dict[str, str]) -> str:
    """Replace each shipped value; a value the file no longer holds fails the test (the site changed shape)."""
    for old, new in replacements.items():
        assert old in text, f"the shipped site has no {old!r} any more"
        text = text.replace(old, new)
    return text


class ServingStack(Stack):
    """nginx in front of gunicorn and daphne (and qcluster when started), as deploy/ ships them."""

    def __init__(self, data_dir: Path, log_dir: Path, **env: str) -> None:
        super().__init__(data_dir, log_dir, **env)
        self.port, self.web_port, self.https_port, self.http_port = distinct_free_ports(4)
        self.static_root = log_dir / "static"
        # Stack.port is where daphne listens; nginx proxies /ws/ there.
        self.env.update(
            MANGA_WEB_BIND=f"127.0.0.1:{self.web_port}",
            MANGA_WEB_WORKERS="2",
            MANGA_WEB_THREADS="2",
            STATIC_ROOT=str(self.static_root),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{self.https_port}",
            MANGA_HTTPS="1",
            MANGA_MEDIA_ACCEL_REDIRECT="1",
        )
        self.env.update(env)

    @property
    def certificate(self) -> Path:
        """The self-signed certificate nginx serves; clients verify against it."""
        return self.log_dir / "nginx" / "certs" / "fullchain.pem"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def collectstatic(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start_web(self) -> subprocess.Popen:
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
        return self._spawn("gunicorn", [*command, "mangasite.wsgi:application"])

    def start_nginx(self) -> subprocess.Popen:
        prefix = self.log_dir / "nginx"
        (prefix / "certs").mkdir(parents=True, exist_ok=True)
        certificate, key = self.certificate, prefix / "certs" / "privkey.pem"
        openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        subprocess.run(
            [*openssl, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
            check=True,
            capture_output=True,
        )
        site = substitute(
            SITE.read_text(),
            {
                "listen 80;": f"listen 127.0.0.1:{self.http_port};",
                "listen [::]:80;": "",
                "listen 443 ssl http2;": f"listen 127.0.0.1:{self.https_port} ssl http2;",
                "listen [::]:443 ssl http2;": "",
                "/etc/letsencrypt/live/mangasite.example/fullchain.pem": str(certificate),
                "/etc/letsencrypt/live/mangasite.example/privkey.pem": str(key),
                "/opt/mangasite/staticfiles/": f"{self.static_root}/",
                "/var/lib/mangasite/data/": f"{self.data_dir.resolve()}/",
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{self.web_port};",
                "server 127.0.0.1:8001;": f"server 127.0.0.1:{self.port};",
            },
        )
        (prefix / "site.conf").write_text(site)
        temp = {name: prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        # The test runs as root on CI: workers must be able to read the test's private temp folders.
        user = "user root;" if _is_root() else ""
        (prefix / "nginx.conf").write_text(
            f"""{user}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {self.log_dir}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {self.log_dir}/nginx-access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {prefix}/site.conf;
}}
"""
        )
        check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True)
        assert check.returncode == 0, check.stderr.decode()
        process = self._spawn("nginx", [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
        self.wait_http(f"{self.url}/healthz", process)
        return process

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("a")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        if name == "gunicorn":
            self.wait_http(f"http://127.0.0.1:{self.web_port}/healthz", process)
        return process

    def wait_http(self, url: str, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{process.args[0]} exited with {process.returncode}:\n{self.logs()}"  # type: ignore[index, str-bytes-safe]
            try:
                # gunicorn answers plain HTTP, which MANGA_HTTPS redirects: any answer means it listens.
                verify = str(self.certificate) if url.startswith("https:") else True
                requests.get(url, timeout=5, verify=verify, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening, or workers still booting
                time.sleep(0.2)
        raise AssertionError(f"{url} did not answer within {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGKILL if name == "qcluster" else signal.SIGTERM)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


def _is_root() -> bool:
    return os.geteuid() == 0
