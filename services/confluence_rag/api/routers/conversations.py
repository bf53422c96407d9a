"""The caller's conversations: list, reopen (sources re-checked against current permissions), rename, delete."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool

from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import (
    UUID_PATTERN,
    ConversationList,
    ConversationOut,
    ConversationSummary,
    DeletedOut,
    RenameBody,
)
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity
from confluence_rag.web.errors import error_responses

router = APIRouter(prefix="/conversations", tags=["conversations"])
ERRORS = error_responses(401, 403, 404, 422, 503)
CallerIdentity = Annotated[Identity, Depends(current_identity)]
ConversationId = Annotated[str, Path(pattern=UUID_PATTERN)]


@router.get("", summary="My conversations, newest first", responses=error_responses(401, 403, 503))
async def list_conversations(identity: CallerIdentity, services: Services = Depends(get_services)) -> ConversationList:
    found = await run_in_threadpool(services.history.conversations, identity)
    return ConversationList(conversations=[ConversationSummary.model_validate(c, from_attributes=True) for c in found])


@router.delete("", summary="Delete all my conversations and answers", responses=error_responses(401, 403, 503))
async def delete_all(identity: CallerIdentity, services: Services = Depends(get_services)) -> DeletedOut:
    return DeletedOut(deleted=await run_in_threadpool(services.history.delete_all, identity))


@router.get("/{conversation_id}", summary="Reopen one of my conversations", responses=ERRORS)
async def get_conversation(
    conversation_id: ConversationId, identity: CallerIdentity, services: Services = Depends(get_services)
) -> ConversationOut:
    readable = partial(services.search.readable_chunks, identity=identity)
    found, messages = await run_in_threadpool(services.history.conversation, identity, conversation_id, readable)
    return ConversationOut(
        id=found.id, title=found.title, created_at=found.created_at, updated_at=found.updated_at, messages=messages
    )


@router.patch(
    "/{conversation_id}", summary="Rename one of my conversations", responses={**ERRORS, **error_responses(400, 413)}
)
async def rename(
    conversation_id: ConversationId,
    body: RenameBody,
    identity: CallerIdentity,
    services: Services = Depends(get_services),
) -> ConversationSummary:
    found = await run_in_threadpool(services.history.rename, identity, conversation_id, body.title)
    return ConversationSummary.model_validate(found, from_attributes=True)


@router.delete("/{conversation_id}", summary="Delete one of my conversations", status_code=204, responses=ERRORS)
async def delete(conversation_id: ConversationId, identity: CallerIdentity, services: Services = Depends(get_services)):
    await run_in_threadpool(services.history.delete, identity, conversation_id)
