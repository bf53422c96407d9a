"""Who is asking, as a real deployment decides it: `confluence-rag api` as a process (uvicorn as the CLI
starts it) on loopback, alone or behind Debian's nginx on the project's template.

- The trust decision is made on the TCP peer alone: X-Forwarded-For never changes it, either way.
- nginx clears sign-in headers a client sent itself, unless the client is the configured
  authenticating proxy (NGINX_AUTH_PROXY).
- The request head is capped (MAX_HEADER_BYTES): 431, before the app parses anything.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.deploy.helpers import (
    REPO,
    answers_200,
    free_ports,
    local_values,
    public_tempdir,
    running_nginx,
    wait_until,
)

CAROL = {"X-Forwarded-User": "carol", "X-Forwarded-Groups": "finance"}
MAX_HEADER_BYTES = 16384


@contextmanager
def api_process(base: Path, port: int, trusted: str) -> Iterator[str]:
    """`confluence-rag api` with AUTH_MODE=proxy (working directory `base`: no .env is read)."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'services'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "AUTH_MODE": "proxy",
        "AUTH_PROXY_TRUSTED": trusted,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "CHROMA_PATH": str(base / "chroma"),
        "STATE_DIR": str(base / "state"),
        "MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "HF_HUB_OFFLINE": "1",
        "LOG_LEVEL": "warning",
    }
    log = (base / f"api-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "confluence_rag.cli", "api"],
        cwd=base,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = wait_until(lambda: process.poll() is None and answers_200(url + "/api/health"), 180, 0.25)
        assert started, (base / f"api-{port}.log").read_text()
        yield url
    finally:
        process.terminate()
        process.wait(20)
        log.close()


class Deployment:
    """API 1: AUTH_PROXY_TRUSTED=10.0.0.0/8, reached directly. API 2: loopback trusted, behind two nginx:
    one with the default NGINX_AUTH_PROXY=none, one naming the test client (127.0.0.1) as the proxy."""

    outside_api: str
    nginx: str
    nginx_from_proxy: str


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    base = public_tempdir("who-is-asking-")
    api_a, api_b, nginx_port, proxy_nginx_port = free_ports(4)
    found = Deployment()
    with ExitStack() as stack:
        stack.callback(subprocess.run, ["rm", "-rf", str(base)], check=False)
        (base / "a").mkdir()
        (base / "b").mkdir()
        # Both APIs load the embedding model: start them together.
        outside = api_process(base / "a", api_a, "10.0.0.0/8")
        behind = api_process(base / "b", api_b, "127.0.0.0/8,::1")
        found.outside_api = stack.enter_context(outside)
        stack.enter_context(behind)
        for name, port, auth_proxy in (("n1", nginx_port, "none"), ("n2", proxy_nginx_port, "10.9.9.9,127.0.0.1")):
            (base / name).mkdir()
            values = local_values(base / name, f"127.0.0.1:{port}", f"127.0.0.1:{api_b}", base / "dist")
            url = stack.enter_context(running_nginx(base / name, {**values, "NGINX_AUTH_PROXY": auth_proxy}))
            if name == "n1":
                found.nginx = url
            else:
                found.nginx_from_proxy = url
        yield found


def me(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(url + "/api/auth/me", headers=headers, timeout=30)


def test_x_forwarded_for_from_the_api_host_does_not_make_a_request_trusted(deployment):
    """AUTH_PROXY_TRUSTED=10.0.0.0/8 and a request from 127.0.0.1 claiming to be from 10.0.0.5."""
    forged = {**CAROL, "X-Forwarded-For": "10.0.0.5"}
    refused = me(deployment.outside_api, forged)
    assert refused.status_code == 403, refused.text
    assert "AUTH_PROXY_TRUSTED" in refused.json()["detail"]
    search = httpx.post(deployment.outside_api + "/api/search", json={"query": "payroll"}, headers=forged)
    assert search.status_code == 403


def test_a_same_host_nginx_that_sends_x_forwarded_for_is_trusted(deployment):
    """Loopback trusted, nginx on the same host adding X-Forwarded-For (the client sent its own too)."""
    answer = me(deployment.nginx_from_proxy, {**CAROL, "X-Forwarded-For": "203.0.113.9"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"] == "carol" and answer.json()["groups"] == ["finance"]


def test_nginx_clears_sign_in_headers_a_client_sent_itself(deployment):
    forged = me(deployment.nginx, {**CAROL, "X-Forwarded-Groups": "rag-admins"})
    assert forged.status_code == 200, forged.text
    assert forged.json()["authenticated"] is False and forged.json()["groups"] == []
    passed = me(deployment.nginx_from_proxy, CAROL)
    assert passed.json()["authenticated"] is True and passed.json()["user"] == "carol"


def test_request_heads_over_max_header_bytes_are_a_431(deployment):
    url = deployment.outside_api + "/api/health"
    assert httpx.get(url, headers={"X-Pad": "a" * (MAX_HEADER_BYTES // 2)}).status_code == 200
    refused = httpx.get(url, headers={"Authorization": "Bearer " + "a" * (2 * MAX_HEADER_BYTES)})
    assert refused.status_code == 431 and "MAX_HEADER_BYTES" in refused.text
    many = httpx.get(url, headers=[(f"X-H{i}", "a" * 100) for i in range(MAX_HEADER_BYTES // 100)])
    assert many.status_code == 431


def test_a_13_mb_header_is_cut_off_while_it_arrives(deployment):
    """The server answers 431 and closes once the head passes the cap; it never reads the 13 MB."""
    port = int(deployment.outside_api.rsplit(":", 1)[1])
    head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 13_000_000 + b"\r\n\r\n"
    start = time.monotonic()
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for offset in range(0, len(head), 65536):
                sent += sock.send(head[offset : offset + 65536])
        except OSError:
            pass  # the server closed the connection: expected
        with suppress(OSError):  # reset with our unread bytes in its buffer: the answer may be lost
            answer = sock.recv(65536)
    assert sent < len(head), "the server read the whole 13 MB head"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert time.monotonic() - start < 5
    assert httpx.get(deployment.outside_api + "/api/health").status_code == 200
