"""The service refuses an anonymous caller from the headers, bounds how long a body may take, and keeps /healthz quick.

Driven with raw sockets, since the point is what the server does while the client is still sending
(or never sends) the body it declared.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from compute_service import contract
from compute_service.tests.serving import TOKEN, Service, page_request

BODY_BYTES = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def hostile_service(tmp_path_factory):
    running = Service(
        MANGA_MODEL_DIR=str(tmp_path_factory.mktemp("no-models")),
        MANGA_COMPUTE_MAX_BODY_BYTES=str(32 * 1024 * 1024),
        MANGA_COMPUTE_BODY_TIMEOUT_SEC="2",
    ).start()
    try:
        yield running
    finally:
        running.stop()


def open_post(service: Service, headers: dict[str, str], length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    lines = [f"POST {contract.TRANSLATE_PATH} HTTP/1.1", f"Host: 127.0.0.1:{service.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: multipart/form-data; boundary=b", f"Content-Length: {length}"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def read_status(sock: socket.socket, timeout: float) -> tuple[int | None, float]:
    """(status, seconds) of the answer, or (None, seconds) when the server closed without one."""
    started = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, time.monotonic() - started
        data += chunk
    return int(data.split(b" ", 2)[1]), time.monotonic() - started


def healthz_ms(service: Service) -> float:
    started = time.perf_counter()
    assert requests.get(service.url + contract.HEALTH_PATH, timeout=5).status_code in (200, 503)
    return (time.perf_counter() - started) * 1000


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
def test_an_anonymous_16_mb_body_is_refused_from_the_headers_in_under_a_second(hostile_service, token):
    headers = {contract.Header.TOKEN.value: token} if token else {}
    sock = open_post(hostile_service, headers, BODY_BYTES)
    stop = threading.Event()

    def send_body() -> None:  # keeps sending, slowly, while the answer is awaited
        chunk = b"\0" * 65536
        try:
            for _ in range(BODY_BYTES // len(chunk)):
                if stop.is_set():
                    return
                sock.sendall(chunk)
                time.sleep(0.01)
        except OSError:
            pass  # the server closed its side: what a refused client sees

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        time.sleep(0.2)
        health = [healthz_ms(hostile_service) for _ in range(5)]
        status, seconds = read_status(sock, timeout=5)
    finally:
        stop.set()
        sock.close()
        sender.join(timeout=5)
    assert status == 401
    assert seconds < 1.0
    assert max(health) < 100


def test_a_declared_body_that_never_comes_is_answered_408_and_closed_after_the_bound(hostile_service):
    sock = open_post(hostile_service, {contract.Header.TOKEN.value: TOKEN}, 100_000)
    try:
        sock.sendall(b"--b\r\n")  # a start, then nothing
        assert healthz_ms(hostile_service) < 100
        status, seconds = read_status(sock, timeout=10)
        assert status == 408
        assert seconds < 5
        sock.settimeout(5)
        while sock.recv(4096):  # the rest of the answer, then the server closes
            pass
    finally:
        sock.close()


def test_an_anonymous_caller_that_declares_a_body_and_sends_nothing_is_answered_and_closed(hostile_service):
    sock = open_post(hostile_service, {}, 100_000)
    try:
        status, seconds = read_status(sock, timeout=5)
        assert (status, seconds < 1) == (401, True)
        sock.settimeout(10)
        started = time.monotonic()
        while sock.recv(4096):
            pass
        assert time.monotonic() - started < 5
    finally:
        sock.close()


def test_a_part_named_with_name_star_gets_a_clear_400(hostile_service):
    body = (
        b"--b\r\nContent-Disposition: form-data; name*=utf-8''image; filename=\"p.png\"\r\n\r\nxx\r\n"
        b'--b\r\nContent-Disposition: form-data; name="source_language"\r\n\r\nja\r\n--b--\r\n'
    )
    headers = {**contract.request_headers(TOKEN), "Content-Type": "multipart/form-data; boundary=b"}
    response = requests.post(hostile_service.url + contract.TRANSLATE_PATH, data=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "name*=" in response.json()["message"]


def test_deeply_nested_context_translations_get_a_400_not_a_500(hostile_service):
    multipart = page_request(b"x").to_multipart()
    multipart["data"]["context_translations"] = "[" * 100_000 + "]" * 100_000
    headers = contract.request_headers(TOKEN)
    response = requests.post(hostile_service.url + contract.TRANSLATE_PATH, headers=headers, timeout=10, **multipart)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "context_translations" in response.json()["message"]
