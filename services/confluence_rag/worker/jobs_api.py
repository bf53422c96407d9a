"""The ingestion job API (list, start, get), defined once.

Mounted by the ingest worker on its own JobManager, and by the query API either in-process
(embedded mode) or forwarding to the worker (WORKER_URL): both serve the same contract.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import httpx
from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from confluence_rag.web.errors import error_responses
from confluence_rag.worker.jobs import JobConflict, JobManager

JOB_ID_PATTERN = r"^[0-9a-f]{1,32}$"


class JobBody(BaseModel):
    model_config = ConfigDict(strict=True)

    space_key: str = Field(min_length=1, max_length=255, description="The Confluence space to sync")
    full: bool = Field(False, description="Re-fetch every page instead of only what changed")


class JobOut(BaseModel):
    id: str
    space_key: str
    full: bool
    kind: Literal["sync", "permissions"] = Field(description="sync, or the permission pass alone (nothing embedded)")
    status: Literal["queued", "running", "succeeded", "failed"]
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    mode: str = Field(description="full | incremental; empty until known")
    pages_seen: int
    pages_total: int
    pages_done: int
    pages_added: int
    pages_updated: int
    pages_unchanged: int
    pages_deleted: int
    pages_failed: int
    chunks_written: int
    failures: list[str]
    access_pages_updated: int = Field(description="pages whose read access changed in place (no re-embedding)")
    access_problems: list[str] = Field(description="permission data that could not be read: those pages are denied")


class JobList(BaseModel):
    jobs: list[JobOut]


class JobNotFound(LookupError):
    pass


class WorkerUnavailable(RuntimeError):
    pass


class JobBackend(Protocol):
    async def list(self) -> list[JobOut]: ...
    async def start(self, body: JobBody) -> JobOut: ...
    async def get(self, job_id: str) -> JobOut: ...


class LocalJobs:
    """Jobs run by a JobManager in this process."""

    def __init__(self, manager: JobManager):
        self.manager = manager

    async def list(self) -> list[JobOut]:
        return [JobOut(**job.public()) for job in self.manager.list()]

    async def start(self, body: JobBody) -> JobOut:
        job = await asyncio.to_thread(self.manager.start, body.space_key.strip(), body.full)
        return JobOut(**job.public())

    async def get(self, job_id: str) -> JobOut:
        job = self.manager.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return JobOut(**job.public())


class RemoteJobs:
    """Jobs run by the ingest worker, reached over HTTP."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0, headers: dict[str, str] | None = None):
        self.base_url, self.timeout_s, self.headers = base_url, timeout_s, headers or {}

    async def _call(self, method: str, path: str, json: dict | None = None) -> Any:
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout_s, headers=self.headers
            ) as client:
                response = await client.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise WorkerUnavailable(f"ingest worker unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise JobNotFound(path.rsplit("/", 1)[-1])
        if response.status_code == 409:
            raise JobConflict(_detail(response))
        if response.status_code >= 400:
            raise WorkerUnavailable(f"ingest worker answered {response.status_code}: {_detail(response)}")
        return response.json()

    async def list(self) -> list[JobOut]:
        return JobList(**await self._call("GET", "/jobs")).jobs

    async def start(self, body: JobBody) -> JobOut:
        return JobOut(**await self._call("POST", "/jobs", body.model_dump()))

    async def get(self, job_id: str) -> JobOut:
        return JobOut(**await self._call("GET", f"/jobs/{job_id}"))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return response.text[:300]


def jobs_router(
    backend: Callable[..., JobBackend],
    *,
    dependencies: Sequence[Any] = (),
    guarded: Sequence[int] = (),
    prefix: str = "",
) -> APIRouter:
    """The job routes. `backend` is a FastAPI dependency returning the JobBackend to use;
    `dependencies` guard every route (an admin check), `guarded` are the statuses they may answer."""
    router = APIRouter(prefix=prefix, tags=["ingestion"], dependencies=list(dependencies))

    @router.get(
        "/jobs",
        summary="Recent ingestion jobs, newest first",
        response_model=JobList,
        responses=error_responses(*guarded, 422, 503),
    )
    async def list_jobs(jobs: JobBackend = Depends(backend)) -> JobList:
        return JobList(jobs=await _call(jobs.list()))

    @router.post(
        "/jobs",
        status_code=202,
        summary="Start a sync of one space",
        response_model=JobOut,
        responses=error_responses(*guarded, 400, 409, 413, 422, 503),
    )
    async def start_job(body: JobBody, jobs: JobBackend = Depends(backend)) -> JobOut:
        return await _call(jobs.start(body))

    @router.get(
        "/jobs/{job_id}",
        summary="One job, with its progress",
        response_model=JobOut,
        responses=error_responses(*guarded, 404, 422, 503),
    )
    async def get_job(
        job_id: str = Path(pattern=JOB_ID_PATTERN, max_length=32), jobs: JobBackend = Depends(backend)
    ) -> JobOut:
        return await _call(jobs.get(job_id))

    return router


async def _call(awaitable):
    try:
        return await awaitable
    except JobConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    except JobNotFound as exc:
        raise HTTPException(404, f"No job {exc}.") from exc
    except WorkerUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
