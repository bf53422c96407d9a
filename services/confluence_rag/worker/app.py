"""The ingest worker: a scheduler for periodic syncs, the permission watch (access_watch.py), a small
internal control API, and the Confluence webhook endpoint (webhooks.py).

Not exposed by nginx; the query API forwards /api/ingest/* here (WORKER_URL).
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request

from confluence_rag.auth.authenticator import AdminToken
from confluence_rag.auth.errors import AuthError
from confluence_rag.container import Components
from confluence_rag.settings import Settings
from confluence_rag.web.errors import error_responses, install_error_handlers
from confluence_rag.web.headers import install_security_headers
from confluence_rag.web.limits import install_body_limit
from confluence_rag.web.metrics import install_metrics
from confluence_rag.worker.access_watch import AccessWatch
from confluence_rag.worker.jobs import Job, JobConflict, JobManager
from confluence_rag.worker.jobs_api import JobList, JobOut, LocalJobs, jobs_router
from confluence_rag.worker.webhooks import webhooks_router

log = logging.getLogger(__name__)


def schedule_all(jobs: JobManager, spaces: list[str], kind: str = "sync") -> list[Job]:
    started = []
    for space in spaces:
        try:
            started.append(jobs.start(space, kind=kind))
        except JobConflict as exc:
            log.info("scheduled %s skipped: %s", kind, exc)
    return started


def _scheduler(jobs: JobManager, settings: Settings, stop: threading.Event) -> None:
    interval = settings.sync_interval_minutes * 60
    while not stop.wait(interval):
        log.info("scheduled sync of %s", settings.confluence_spaces)
        schedule_all(jobs, settings.confluence_spaces)


def admin_token_guard(settings: Settings):
    """The control API listens on the compose network: every call needs `Bearer <ADMIN_TOKEN>`."""
    admin_token = AdminToken(settings.admin_token)

    def guard(request: Request) -> None:
        try:
            admin_token.require(request.headers)
        except AuthError as exc:
            raise HTTPException(exc.status, exc.message, exc.headers or None) from exc

    return guard


def create_worker_app(settings: Settings) -> FastAPI:
    components = Components(settings)
    jobs = JobManager(components, settings.state_dir)
    watch = AccessWatch(components, jobs.writer_lock)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        components.embedder  # load the model before accepting jobs  # noqa: B018
        if settings.sync_interval_minutes > 0 and settings.confluence_spaces:
            threading.Thread(target=_scheduler, args=(jobs, settings, stop), daemon=True).start()
        watch.start()
        yield
        stop.set()
        watch.stop()
        jobs.shutdown()

    app = FastAPI(
        title="Confluence RAG ingest worker",
        description="Internal control API of the ingest worker (not exposed by nginx).",
        lifespan=lifespan,
        openapi_url=None,  # served below, to operators only; no /docs or /redoc page
        docs_url=None,
        redoc_url=None,
    )
    admin = [Depends(admin_token_guard(settings))]
    app.state.jobs = jobs
    app.state.access_watch = watch
    install_error_handlers(app)
    install_body_limit(app, settings.max_body_bytes)
    install_security_headers(app)
    install_metrics(app, "worker", settings.metrics_token)
    local = LocalJobs(jobs)
    app.include_router(jobs_router(lambda: local, dependencies=admin, guarded=(401, 403)))
    app.include_router(webhooks_router(settings, watch))  # signed by Confluence, not by ADMIN_TOKEN

    @app.get("/openapi.json", include_in_schema=False, dependencies=admin)
    def openapi() -> dict:
        return app.openapi()

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/sync",
        status_code=202,
        summary="Start a sync of every space in CONFLUENCE_SPACES",
        response_model=JobList,
        responses=error_responses(400, 401, 403),
        dependencies=admin,
    )
    def sync_all() -> JobList:
        if not settings.confluence_spaces:
            raise HTTPException(400, "CONFLUENCE_SPACES is empty: nothing to sync")
        return JobList(jobs=[JobOut(**j.public()) for j in schedule_all(jobs, settings.confluence_spaces)])

    return app
