"""Operators' usage analytics over a period, as JSON or CSV (ADMIN_GROUPS or ADMIN_TOKEN)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BeforeValidator

from confluence_rag.api.auth import require_admin
from confluence_rag.api.schemas import AnalyticsOut
from confluence_rag.api.services import Services
from confluence_rag.history import analytics
from confluence_rag.web.errors import error_responses

router = APIRouter(prefix="/admin/analytics", tags=["analytics"])
DEFAULT_DAYS = 30
EARLIEST = datetime.min.replace(tzinfo=UTC)
ERRORS = error_responses(401, 403, 422, 503)
Admin = Annotated[Services, Depends(require_admin)]


def _iso_only(value: object) -> object:
    """ISO 8601 only: pydantic would also read a number as a Unix time (`?start=0.5`)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("an ISO 8601 date-time is expected, e.g. 2026-11-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


def period(
    start: Annotated[IsoDateTime | None, Query(description="Inclusive; default: 30 days before end")] = None,
    end: Annotated[IsoDateTime | None, Query(description="Exclusive; default: now. Without a zone: UTC")] = None,
) -> tuple[datetime, datetime]:
    """The period [start, end); start at or after end is an empty period."""
    end = _utc(end, "end") if end else datetime.now(UTC)
    if start:
        return _utc(start, "start"), end
    default = timedelta(days=DEFAULT_DAYS)
    # Clamped: an end in the first 30 days of year 1 has no "30 days before" (date arithmetic overflows).
    return (end - default if end - EARLIEST > default else EARLIEST), end


def _utc(value: datetime, name: str) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise HTTPException(422, f"{name}: out of the supported range once converted to UTC") from None


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
