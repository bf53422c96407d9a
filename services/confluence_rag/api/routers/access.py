"""Operators: why can (or can't) a user read a page. Admin only, like /api/ingest/*."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from confluence_rag.access.explain import PageNotIndexed, explain_access
from confluence_rag.api.auth import require_admin
from confluence_rag.api.schemas import AccessExplanationOut
from confluence_rag.api.services import Services
from confluence_rag.web.errors import error_responses

log = logging.getLogger(__name__)
router = APIRouter(tags=["access"])
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # no control characters


def digest(value: str | None) -> str:
    """A short, stable stand-in for a user-supplied id in a log line (never the id itself)."""
    return "-" if value is None else hashlib.sha256(value.encode()).hexdigest()[:12]


@router.get(
    "/access/explain",
    summary="Operators: why can (or can't) a user read a page",
    response_model=AccessExplanationOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def explain(
    services: Annotated[Services, Depends(require_admin)],
    page_id: Annotated[str, Query(min_length=1, max_length=255, pattern=ID_PATTERN, description="Confluence page id")],
    user: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            pattern=ID_PATTERN,
            description="Server/DC username or Cloud accountId; omitted: anonymous",
        ),
    ] = None,
    groups: Annotated[
        list[str],
        Query(max_length=100, description="GROUPS_SOURCE=token only: the groups the user's token would carry"),
    ] = [],  # noqa: B006  (FastAPI copies defaults)
) -> AccessExplanationOut:
    store = services.components.store()
    try:
        found = await run_in_threadpool(
            explain_access, store, services.settings, user, page_id, frozenset(g for g in groups if g)
        )
    except PageNotIndexed:
        raise HTTPException(404, "No indexed page has this id.") from None
    log.info("access explained: page %s, user %s, readable=%s", digest(page_id), digest(user), found.can_read)
    return AccessExplanationOut.model_validate(found)
