"""Ingestion control: the shared job API, forwarded to the ingest worker (WORKER_URL) or run in-process."""

from __future__ import annotations

import hmac

from fastapi import Depends, Header, HTTPException

from confluence_rag.api.services import Services, get_services
from confluence_rag.worker.jobs_api import JobBackend, LocalJobs, RemoteJobs, jobs_router


def require_admin(
    authorization: str = Header("", description="Bearer <ADMIN_TOKEN>"),
    services: Services = Depends(get_services),
) -> Services:
    expected = services.settings.admin_token.get_secret_value()
    if not expected:
        raise HTTPException(403, "ingestion control is disabled: set ADMIN_TOKEN")
    given = authorization.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong admin token")
    return services


def job_backend(services: Services = Depends(get_services)) -> JobBackend:
    if services.jobs is not None:
        return LocalJobs(services.jobs)
    return RemoteJobs(services.settings.worker_url)


router = jobs_router(job_backend, dependencies=[Depends(require_admin)], guarded=(401, 403), prefix="/ingest")
