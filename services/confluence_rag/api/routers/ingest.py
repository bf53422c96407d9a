"""Ingestion control: forwarded to the ingest worker (WORKER_URL), or run in-process (embedded)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import JSONResponse

from confluence_rag.api.auth import require_admin
from confluence_rag.api.schemas import JobBody
from confluence_rag.api.services import Services
from confluence_rag.worker.jobs import JobConflict

router = APIRouter(prefix="/ingest", tags=["ingestion"])


async def _forward(services: Services, method: str, path: str, json: dict | None = None) -> JSONResponse:
    # The worker's control API takes the admin token too: it listens on the compose network.
    headers = {"Authorization": f"Bearer {services.settings.admin_token.get_secret_value()}"}
    try:
        async with httpx.AsyncClient(base_url=services.settings.worker_url, timeout=10) as client:
            response = await client.request(method, path, json=json, headers=headers)
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
