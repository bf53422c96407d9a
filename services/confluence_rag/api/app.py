"""The query API: FastAPI app factory. Routers are thin; the logic lives in retrieval/ and answering/."""

from __future__ import annotations

import html
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from confluence_rag.api.routers import auth, chat, health, ingest, search
from confluence_rag.api.services import Services
from confluence_rag.auth.authenticator import Authenticator
from confluence_rag.components.vector_store import VectorStoreUnavailable
from confluence_rag.settings import Settings, get_settings
from confluence_rag.sources.demo import DEMO_SPACE, demo_html

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return "Invalid JSON body."
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "Invalid request."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.components.embedder  # load the model before serving  # noqa: B018
        if settings.demo_content:
            _load_demo(services)
        yield
        if services.jobs:
            services.jobs.shutdown()

    app = FastAPI(
        title="Confluence RAG query API",
        description="Search and chat over Confluence pages, with citations. See docs/api.md.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.services = services
    app.state.authenticator = Authenticator(settings)
    for router in (health.router, auth.router, search.router, chat.router, ingest.router):
        app.include_router(router, prefix="/api")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        status = 400 if "Invalid JSON" in (msg := _validation_message(exc)) else 422
        return JSONResponse({"detail": msg}, status_code=status)

    @app.exception_handler(VectorStoreUnavailable)
    async def store_down(_: Request, exc: VectorStoreUnavailable) -> JSONResponse:
        services.components.forget_store()
        return JSONResponse({"detail": "The document index (vector store) is unreachable."}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        if _looks_like_connection_error(exc):
            services.components.forget_store()
            return JSONResponse({"detail": "The document index (vector store) is unreachable."}, status_code=503)
        return JSONResponse({"detail": "Internal error; see the service log."}, status_code=500)

    if settings.demo_content:

        @app.get("/demo/pages/{page_id}", response_class=HTMLResponse, include_in_schema=False)
        def demo_page(page_id: str) -> HTMLResponse:
            found = demo_html(page_id)
            if found is None:
                raise HTTPException(404, "no such demo page")
            title, body = found
            return HTMLResponse(
                f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem}</style></head>"
                f"<body><p><em>Espace {DEMO_SPACE} — page de démonstration</em></p><h1>{html.escape(title)}</h1>"
                f"{body}</body></html>"
            )

    if settings.frontend_dir and Path(settings.frontend_dir).is_dir():
        _mount_frontend(app, Path(settings.frontend_dir))
    return app


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("connect", "connection", "timeout", "unreachable"))


def _load_demo(services: Services) -> None:
    from confluence_rag.worker.runs import ingest_space

    stats = ingest_space(services.components, DEMO_SPACE)
    log.info("demo content: %d pages, %d new chunks", stats.pages_done, stats.chunks_written)


def _mount_frontend(app: FastAPI, root: Path) -> None:
    """Serve the built Angular app (single-process `make run`; nginx does this when deployed)."""
    index = root / "index.html"

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str):
        candidate = (root / path).resolve()
        if path and candidate.is_file() and root.resolve() in candidate.parents:
            return FileResponse(candidate)
        if path.startswith("api/"):
            raise HTTPException(404, "Not found")
        return FileResponse(index)
