"""Operators' usage analytics over a period, as JSON or CSV (ADMIN_GROUPS or ADMIN_TOKEN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from confluence_rag.api.auth import require_admin
from confluence_rag.api.schemas import AnalyticsOut
from confluence_rag.api.services import Services
from confluence_rag.history import analytics
from confluence_rag.web.errors import error_responses

router = APIRouter(prefix="/admin/analytics", tags=["analytics"])
DEFAULT_DAYS = 30
ERRORS = error_responses(401, 403, 422, 503)
Admin = Annotated[Services, Depends(require_admin)]


def period(
    start: Annotated[datetime | None, Query(description="Inclusive; default: 30 days before end")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default: now. Without a zone: UTC")] = None,
) -> tuple[datetime, datetime]:
    end = _utc(end) if end else datetime.now(UTC)
    start = _utc(start) if start else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise HTTPException(422, "start must be before end")
    return start, end


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Period = Annotated[tuple[datetime, datetime], Depends(period)]


@router.get(
    "", summary="Usage over a period: unanswered and thumbed-down questions, citations, latency", responses=ERRORS
)
async def report(services: Admin, when: Period) -> AnalyticsOut:
    pages = await run_in_threadpool(services.search.indexed_pages)
    return AnalyticsOut(**await run_in_threadpool(analytics.report, services.history.database, *when, pages))


@router.get(
    ".csv",
    summary="One row per answered question of the period (CSV)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
async def export(services: Admin, when: Period) -> Response:
    body = await run_in_threadpool(analytics.csv_export, services.history.database, *when)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="analytics.csv"'},
    )
