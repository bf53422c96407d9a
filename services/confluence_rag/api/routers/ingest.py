"""Ingestion control: forwarded to the ingest worker (WORKER_URL), or run in-process (embedded)."""

from __future__ import annotations

import hmac

import httpx
from fastapi import APIRouter, Depends, Header, HTTPException, Path
from fastapi.responses import JSONResponse

from confluence_rag.api.schemas import JobBody
from confluence_rag.api.services import Services, get_services
from confluence_rag.worker.jobs import JobConflict

router = APIRouter(prefix="/ingest", tags=["ingestion"])


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


async def _forward(services: Services, method: str, path: str, json: dict | None = None) -> JSONResponse:
    try:
        async with httpx.AsyncClient(base_url=services.settings.worker_url, timeout=10) as client:
            response = await client.request(method, path, json=json)
    except httpx.HTTPError as exc:
        raise HTTPException(503, f"ingest worker unreachable: {type(exc).__name__}") from exc
    return JSONResponse(response.json(), status_code=response.status_code)


@router.get("/jobs", summary="Recent ingestion jobs, newest first")
async def list_jobs(services: Services = Depends(require_admin)):
    if services.jobs is None:
        return await _forward(services, "GET", "/jobs")
    return {"jobs": [vars(j) for j in services.jobs.list()]}


@router.post("/jobs", status_code=202, summary="Start a sync of one space")
async def start_job(body: JobBody, services: Services = Depends(require_admin)):
    if services.jobs is None:
        return await _forward(services, "POST", "/jobs", body.model_dump())
    try:
        return vars(services.jobs.start(body.space_key.strip(), body.full))
    except JobConflict as exc:
        raise HTTPException(409, str(exc)) from exc


@router.get("/jobs/{job_id}", summary="One job, with its progress")
async def get_job(job_id: str = Path(pattern=r"^[0-9a-f]{1,32}$"), services: Services = Depends(require_admin)):
    if services.jobs is None:
        return await _forward(services, "GET", f"/jobs/{job_id}")
    job = services.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return vars(job)
