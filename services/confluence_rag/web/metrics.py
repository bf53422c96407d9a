"""`GET /metrics` (Prometheus text) and the middleware that counts every HTTP request.

The label of a request is its route template (`/api/ingest/jobs/{job_id}`), read from the route
Starlette matched; a request no route matched is `unmatched`, so a scanner's paths never become
label values. Reading the metrics takes `Authorization: Bearer <METRICS_TOKEN>` on the query API and
on the worker alike (nginx answers 404 for /metrics and /api/metrics, so only the internal network
reaches them); with METRICS_TOKEN empty, /metrics answers 403. A Celery worker has no web app: with
CELERY_METRICS_PORT it serves the same endpoint from a small WSGI server (`serve_metrics`).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from http import HTTPStatus
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, make_wsgi_app
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confluence_rag.auth.authenticator import bearer_token
from confluence_rag.auth.errors import AuthError
from confluence_rag.components.metrics import HTTP_REQUESTS, HTTP_SECONDS

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's template with its router's prefix (`/api` + `/ingest/jobs/{job_id}`).

    Starlette leaves the matched route in the scope, but a route of an included router knows only its
    own path: the prefix is what the request path holds before that route's part (the route's path
    filled with the request's parameters), a constant of the code since the prefix had to match."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if route is None or template is None:
        return "unmatched"
    try:
        own = str(route.url_path_for(route.name, **scope.get("path_params", {})))
    except Exception:  # a route whose parameters cannot be filled back (none of ours): its bare template
        return template
    path = scope["path"]
    return path[: len(path) - len(own)] + template if path.endswith(own) else template


class RequestMetrics:
    """Pure ASGI middleware (streams pass through): counts and times each request until its last byte."""

    def __init__(self, app: ASGIApp, app_name: str):
        self.app = app
        self.app_name = app_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any answer is the server error handler's 500

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            labels = (self.app_name, method, route, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_SECONDS.labels(*labels).observe(time.perf_counter() - started)


def refusal(metrics_token: SecretStr, headers: Headers) -> tuple[int, str] | None:
    """None when the request carries `Bearer <METRICS_TOKEN>`; otherwise the status and message to answer."""
    expected = metrics_token.get_secret_value()
    if not expected:
        return 403, "Metrics are disabled: set METRICS_TOKEN."
    try:
        token = bearer_token(headers) or ""
    except AuthError as exc:
        return 401, exc.message
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return 401, "Missing or wrong metrics token (METRICS_TOKEN)."
    return None


def install_metrics(app: FastAPI, app_name: str, metrics_token: SecretStr) -> None:
    """Count every request of `app` and serve `GET /metrics` to holders of `metrics_token`."""
    app.add_middleware(RequestMetrics, app_name=app_name)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        refused = refusal(metrics_token, request.headers)
        if refused is not None:
            status, message = refused
            raise HTTPException(status, message, {"WWW-Authenticate": "Bearer"} if status == 401 else None)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # seconds a scraper may take to send its request: a stalled one frees the thread

    def log_message(self, *args: object) -> None:  # no access log (it would hold the scraper's address)
        pass


def serve_metrics(host: str, port: int, metrics_token: SecretStr) -> WSGIServer:
    """`GET /metrics` for a process without a web app (a Celery worker), same token, one daemon thread."""
    exposition = make_wsgi_app()

    def app(environ: dict, start_response):
        refused = (404, "Not Found") if environ.get("PATH_INFO") != "/metrics" else None
        authorization = environ.get("HTTP_AUTHORIZATION")
        raw = [(b"authorization", authorization.encode("latin-1"))] if authorization is not None else []
        refused = refused or refusal(metrics_token, Headers(raw=raw))
        if refused is None:
            return exposition(environ, start_response)
        status, message = refused
        headers = [("Content-Type", "application/json")]
        if status == 401:
            headers.append(("WWW-Authenticate", "Bearer"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [json.dumps({"detail": message}).encode()]

    server = make_server(host, port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
