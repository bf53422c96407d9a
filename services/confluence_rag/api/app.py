"""The query API: FastAPI app factory. Routers are thin; the logic lives in retrieval/ and answering/."""

from __future__ import annotations

import html
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.convertors import Convertor, register_url_convertor

from confluence_rag.api.routers import analytics, auth, chat, conversations, feedback, health, ingest, search
from confluence_rag.api.schemas import SSE_EVENTS
from confluence_rag.api.services import Services
from confluence_rag.auth.authenticator import Authenticator
from confluence_rag.components.vector_store import STORE_ERRORS
from confluence_rag.history.database import HistoryUnavailable
from confluence_rag.history.service import HistoryError, retention_loop
from confluence_rag.settings import Settings, get_settings
from confluence_rag.sources.demo import DEMO_SPACE, demo_html
from confluence_rag.web.docs import mount_docs
from confluence_rag.web.errors import install_error_handlers
from confluence_rag.web.headers import browser_connect_src, install_security_headers
from confluence_rag.web.limits import install_body_limit

log = logging.getLogger(__name__)
STORE_DOWN = "The document index (vector store) is unreachable."
HISTORY_DOWN = "The history database is unavailable; search and chat still answer. Try again in a moment."
ROUTERS = (
    health.router,
    auth.router,
    search.router,
    chat.router,
    conversations.router,
    feedback.router,
    analytics.router,
    ingest.router,
)


class FrontendPath(Convertor):
    """Any path outside /api/ without a NUL byte: /api/* stays the API's (404/405 as JSON), and a NUL
    (`GET /%00`) matches no route (404) instead of reaching the file system."""

    regex = r"(?!api(?:/|$))[^\x00]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("frontend", FrontendPath())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.components.embedder  # load the model before serving  # noqa: B018
        if settings.demo_content:
            _load_demo(services)
        stop = threading.Event()
        # Migrations, then retention, off the start-up path: a database that is down delays neither.
        threading.Thread(target=retention_loop, args=(services.history, stop), daemon=True).start()
        yield
        stop.set()
        if services.jobs:
            services.jobs.shutdown()

    app = FastAPI(
        title="Confluence RAG query API",
        description="Search and chat over Confluence pages, with citations. See docs/api.md.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.services = services
    app.state.authenticator = Authenticator(settings)
    for router in ROUTERS:
        app.include_router(router, prefix="/api")
    mount_docs(app, "/api/docs", "/api/openapi.json")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    install_body_limit(app, settings.max_body_bytes)
    install_security_headers(app, browser_connect_src(settings))

    async def store_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("vector store unavailable: %s", type(exc).__name__)
        services.components.forget_store()
        return JSONResponse({"detail": STORE_DOWN}, status_code=503)

    for error in STORE_ERRORS:
        app.add_exception_handler(error, store_down)

    @app.exception_handler(HistoryUnavailable)
    async def history_down(_: Request, exc: HistoryUnavailable) -> JSONResponse:
        log.warning("history database unavailable: %s", exc)
        return JSONResponse({"detail": HISTORY_DOWN}, status_code=503)

    @app.exception_handler(HistoryError)
    async def history_error(_: Request, exc: HistoryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "Internal error; see the service log."}, status_code=500)

    if settings.demo_content:

        @app.get("/demo/pages/{page_id}", response_class=HTMLResponse, include_in_schema=False)
        def demo_page(page_id: str) -> HTMLResponse:
            found = demo_html(page_id)
            if found is None:
                raise HTTPException(404, "no such demo page")
            title, body = found
            page = (
                f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem}</style></head>"
                f"<body><p><em>Espace {DEMO_SPACE} — page de démonstration</em></p><h1>{html.escape(title)}</h1>"
                f"{body}</body></html>"
            )
            return HTMLResponse(page)

    if settings.frontend_dir and Path(settings.frontend_dir).is_dir():
        _mount_frontend(app, Path(settings.frontend_dir))
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document plus the chat stream's event payloads (referenced by the SSE schema)."""
    if not app.openapi_schema:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, defs = models_json_schema(
            [(model, "serialization") for model in SSE_EVENTS.values()], ref_template="#/components/schemas/{model}"
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        app.openapi_schema = schema
    return app.openapi_schema


def _load_demo(services: Services) -> None:
    from confluence_rag.worker.runs import ingest_space

    stats = ingest_space(services.components, DEMO_SPACE)
    log.info("demo content: %d pages, %d new chunks", stats.pages_done, stats.chunks_written)


def _mount_frontend(app: FastAPI, root: Path) -> None:
    """Serve the built Angular app (single-process `make run`; nginx does this when deployed)."""
    index = root / "index.html"

    @app.get("/{path:frontend}", include_in_schema=False)
    def spa(path: str):
        if path and _is_file_under(root, path):
            return FileResponse(root / path)
        return FileResponse(index)


def _is_file_under(root: Path, path: str) -> bool:
    try:
        candidate = (root / path).resolve()
        return candidate.is_file() and root.resolve() in candidate.parents
    except (OSError, ValueError):  # a name too long for the file system, ...
        return False
