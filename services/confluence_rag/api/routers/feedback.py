"""Thumbs and comments on answers, and "this source was wrong" on cited passages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import FeedbackBody
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity
from confluence_rag.web.errors import error_responses

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback",
    summary="Rate one of my answers (a new rating replaces the previous one)",
    status_code=204,
    responses=error_responses(400, 401, 403, 404, 413, 422, 503),
)
async def feedback(
    body: FeedbackBody,
    identity: Annotated[Identity, Depends(current_identity)],
    services: Services = Depends(get_services),
):
    await run_in_threadpool(
        services.history.feedback, identity, body.message_id, body.rating, body.comment, body.wrong_chunk_ids
    )
