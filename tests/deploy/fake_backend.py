"""A stand-in for `confluence-rag api|worker`, for testing the deployment scripts and nginx alone.

Standard library only. It follows the HTTP contract of docs/api.md for the few endpoints the
deployment relies on: the query API's /api/health, /api/ready and a slow SSE /api/chat (events
spaced by FAKE_SSE_DELAY seconds, so a test can tell a stream from a buffered answer), and the
worker's /health. /api/debug/env shows the topology variables the process was started with.
FAKE_BACKEND_FAIL=1 makes it print an error and exit 3 at start, like a misconfigured service.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOPOLOGY_VARS = (
    "API_HOST",
    "API_PORT",
    "WORKER_HOST",
    "WORKER_PORT",
    "WORKER_URL",
    "CHROMA_HOST",
    "CHROMA_PORT",
    "STATE_DIR",
    "HF_HUB_OFFLINE",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "PASS_THROUGH_PROBE",
)


class Handler(BaseHTTPRequestHandler):
    role = "api"
    server_version = "fake-backend"

    def log_message(self, fmt: str, *args: object) -> None:  # to the service log, like uvicorn
        sys.stderr.write(f"{self.role}: {fmt % args}\n")

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.role == "worker" and self.path == "/health":
            return self._json(200, {"status": "ok"})
        if self.role == "api" and self.path == "/api/health":
            return self._json(200, {"status": "ok"})
        if self.role == "api" and self.path == "/api/ready":
            return self._json(
                200,
                {
                    "ready": True,
                    "vector_store": "ok",
                    "embedding_model": "fake",
                    "llm_configured": False,
                    "mode": "extractive",
                    "chunks": 0,
                },
            )
        if self.role == "api" and self.path.split("?")[0].rstrip("/") in ("/metrics", "/api/metrics"):
            return self._json(200, {"metrics": "served to anyone who reaches the API"})  # nginx must not pass it
        if self.role == "api" and self.path == "/api/debug/env":
            return self._json(200, {k: os.environ.get(k) for k in TOPOLOGY_VARS})
        return self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.role == "api" and self.path == "/api/echo-size":
            return self._json(200, {"bytes": len(body)})
        if self.role != "api" or self.path != "/api/chat":
            return self._json(404, {"detail": "Not Found"})
        delay = float(os.environ.get("FAKE_SSE_DELAY", "0.4"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()  # HTTP/1.0 style: the body ends when the connection closes
        events = [("sources", {"sources": [], "mode": "extractive", "query": "q"})]
        events += [("token", {"text": f"t{i} "}) for i in range(4)]
        events += [("done", {"mode": "extractive", "answer_found": False, "timings": {}})]
        for i, (name, data) in enumerate(events):
            if i:
                time.sleep(delay)
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else ""
    if role not in {"api", "worker"}:
        print(f"fake confluence-rag: unsupported command {argv[1:]}", file=sys.stderr)
        return 2
    print(
        f"fake confluence-rag {role} starting (pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )
    if os.environ.get("FAKE_BACKEND_FAIL") == "1":
        print(
            "fake confluence-rag: simulated start-up failure: bad settings",
            file=sys.stderr,
            flush=True,
        )
        return 3
    prefix = "API" if role == "api" else "WORKER"
    host = os.environ.get(f"{prefix}_HOST", "127.0.0.1")
    port = int(os.environ.get(f"{prefix}_PORT", "8000" if role == "api" else "8001"))
    Handler.role = role
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    print(
        f"fake confluence-rag {role} listening on {host}:{port}",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
