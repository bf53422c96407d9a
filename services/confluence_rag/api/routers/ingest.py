"""Ingestion control: the shared job API, forwarded to the ingest worker (WORKER_URL) or run in-process."""

from __future__ import annotations

from fastapi import Depends

from confluence_rag.api.auth import require_admin
from confluence_rag.api.services import Services, get_services
from confluence_rag.worker.jobs_api import JobBackend, LocalJobs, RemoteJobs, jobs_router


def job_backend(services: Services = Depends(get_services)) -> JobBackend:
    if services.jobs is not None:
        return LocalJobs(services.jobs)
    # The worker's control API takes the admin token too: it listens on the compose network.
    token = services.settings.admin_token.get_secret_value()
    return RemoteJobs(services.settings.worker_url, headers={"Authorization": f"Bearer {token}"})


router = jobs_router(job_backend, dependencies=[Depends(require_admin)], guarded=(401, 403), prefix="/ingest")
