"""A Chroma server that accepts connections and never answers: the same clear 503 as a stopped one,
within CHROMA_TIMEOUT_S, and liveness stays instant while requests are stuck on it.

The API runs without its lifespan (no model loading): every request here fails on the store first.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from confluence_rag.api.app import create_app
from tests.conftest import ServerThread, free_port

STORE_DOWN = "The document index (vector store) is unreachable."


class StalledServer:
    """Accepts every TCP connection, reads what comes, never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def __enter__(self) -> StalledServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def stalled():
    with StalledServer() as server:
        yield server


@pytest.mark.parametrize("kind", ["stalled", "stopped"])
def test_a_stalled_or_stopped_chroma_is_a_clear_503_within_the_timeout(make_settings, stalled, kind):
    port = stalled.port if kind == "stalled" else free_port()
    settings = make_settings(chroma_host="127.0.0.1", chroma_port=port, chroma_timeout_s=1.0)
    with (
        ServerThread(create_app(settings), lifespan="off") as api,
        httpx.Client(base_url=api.url, timeout=30) as client,
    ):
        for method, path, body in [
            ("GET", "/api/spaces", None),
            ("POST", "/api/search", {"query": "deploy"}),
        ]:
            started = time.monotonic()
            response = client.request(method, path, json=body)
            assert response.status_code == 503 and response.json() == {"detail": STORE_DOWN}, (path, response.text)
            assert time.monotonic() - started < 1.0 + 2.0, path  # CHROMA_TIMEOUT_S, plus slack for the machine
        ready = client.get("/api/ready")
        assert ready.status_code == 503 and ready.json()["vector_store"].startswith("unreachable")
        with client.stream("POST", "/api/chat", json={"messages": [{"role": "user", "content": "deploy?"}]}) as r:
            text = "".join(r.iter_text())
        assert "event: error" in text and STORE_DOWN in text


def test_liveness_answers_while_requests_are_stuck_on_a_stalled_store(make_settings, stalled):
    settings = make_settings(chroma_host="127.0.0.1", chroma_port=stalled.port, chroma_timeout_s=10.0)
    with ServerThread(create_app(settings), lifespan="off") as api, ThreadPoolExecutor(max_workers=45) as pool:
        stuck = [pool.submit(httpx.get, api.url + "/api/ready", timeout=60) for _ in range(45)]
        deadline = time.monotonic() + 10
        while len(stalled.connections) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(stalled.connections) >= 40  # the API's thread pool (40 threads) is saturated
        health = httpx.get(api.url + "/api/health", timeout=3)  # far below CHROMA_TIMEOUT_S
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert not any(f.done() for f in stuck)  # they were still stuck while /api/health answered
        stalled.__exit__()  # release them
        assert {f.result().status_code for f in stuck} == {503}
