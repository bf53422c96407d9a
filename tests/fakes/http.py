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
