"""Serving a fake on a loopback port in a background thread (shared by the fakes)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler], owner: object, host: str, port: int) -> ThreadingHTTPServer:
    """Start a threading HTTP server whose handler instances see `owner` as `self.owner`."""
    # No Nagle: a response goes out as headers then body, and Nagle + delayed ACK would add ~40 ms.
    bound = type(handler.__name__, (handler,), {"owner": owner, "disable_nagle_algorithm": True})
    server = ThreadingHTTPServer((host, port), bound)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shutdown(server: ThreadingHTTPServer | None) -> None:
    if server:
        server.shutdown()
        server.server_close()


class FakeServer:
    """The lifecycle every fake shares: `start()` serves `handler` on a loopback port and returns
    `url` (the address clients are configured with: root + `path`), `stop()` ends it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], path: str = "") -> None:
        self._handler = handler
        self._path = path
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = serve(self._handler, self, host, port)
        return self.url

    def stop(self) -> None:
        shutdown(self._server)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self._path}"
