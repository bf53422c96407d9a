"""The ingest worker: a scheduler for periodic syncs plus a small internal control API.

Not exposed by nginx; the query API forwards /api/ingest/* here (WORKER_URL).
"""

from __future__ import annotations

import hmac
import logging
import threading
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from confluence_rag.auth.authenticator import bearer_token
from confluence_rag.auth.errors import AuthError
from confluence_rag.container import Components
from confluence_rag.settings import Settings
from confluence_rag.worker.jobs import JobConflict, JobManager

log = logging.getLogger(__name__)


class JobRequest(BaseModel):
    space_key: str = Field(min_length=1, max_length=255)
    full: bool = False


def schedule_all(jobs: JobManager, spaces: list[str]) -> list:
    started = []
    for space in spaces:
        try:
            started.append(jobs.start(space))
        except JobConflict as exc:
            log.info("scheduled sync skipped: %s", exc)
    return started


def _scheduler(jobs: JobManager, settings: Settings, stop: threading.Event) -> None:
    interval = settings.sync_interval_minutes * 60
    while not stop.wait(interval):
        log.info("scheduled sync of %s", settings.confluence_spaces)
        schedule_all(jobs, settings.confluence_spaces)


def admin_token_guard(settings: Settings):
    """The control API listens on the compose network: every call needs `Bearer <ADMIN_TOKEN>`."""

    def guard(request: Request) -> None:
        expected = settings.admin_token.get_secret_value()
        if not expected:
            raise HTTPException(403, "Ingestion control is disabled: set ADMIN_TOKEN.")
        try:
            token = bearer_token(request.headers.get("authorization")) or ""
        except AuthError as exc:
            raise HTTPException(401, exc.message) from exc
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise HTTPException(401, "Missing or wrong admin token.", {"WWW-Authenticate": "Bearer"})

    return guard


def create_worker_app(settings: Settings) -> FastAPI:
    components = Components(settings)
    jobs = JobManager(components, settings.state_dir)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        components.embedder  # load the model before accepting jobs  # noqa: B018
        if settings.sync_interval_minutes > 0 and settings.confluence_spaces:
            threading.Thread(target=_scheduler, args=(jobs, settings, stop), daemon=True).start()
        yield
        stop.set()
        jobs.shutdown()

    app = FastAPI(title="Confluence RAG ingest worker", lifespan=lifespan)
    admin = [Depends(admin_token_guard(settings))]
    app.state.jobs = jobs

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/jobs", dependencies=admin)
    def list_jobs() -> dict:
        return {"jobs": [vars(j) for j in jobs.list()]}

    @app.post("/jobs", status_code=202, dependencies=admin)
    def start_job(body: JobRequest) -> dict:
        try:
            return vars(jobs.start(body.space_key.strip(), body.full))
        except JobConflict as exc:
            raise HTTPException(409, str(exc)) from exc

    @app.get("/jobs/{job_id}", dependencies=admin)
    def get_job(job_id: str) -> dict:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return vars(job)

    @app.post("/sync", status_code=202, dependencies=admin)
    def sync_all() -> dict:
        if not settings.confluence_spaces:
            raise HTTPException(400, "CONFLUENCE_SPACES is empty: nothing to sync")
        return {"jobs": [vars(j) for j in schedule_all(jobs, settings.confluence_spaces)]}

    return app
