from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from confluence_rag.answering.chat import ChatRequest, Event, Turn
from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import ChatBody, ChatOut, sse_event_schema
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity
from confluence_rag.history.database import HistoryUnavailable
from confluence_rag.history.service import SignInRequired
from confluence_rag.web.errors import error_responses

router = APIRouter(tags=["chat"])


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/chat",
    summary="Answer a conversation: server-sent events (sources, token…, done | error), or JSON",
    response_model=ChatOut,
    responses={
        200: {
            "description": "Server-sent events by default; the whole answer (ChatOut) with `Accept: application/json`",
            "content": {"text/event-stream": {"schema": sse_event_schema()}},
        },
        **error_responses(400, 401, 403, 404, 413, 422, 502, 503, 504),
    },
)
async def chat(
    body: ChatBody,
    request: Request,
    identity: Annotated[Identity, Depends(current_identity)],
    services: Services = Depends(get_services),
):
    filters = await run_in_threadpool(services.filters, body.spaces, body.labels, identity=identity)
    conversation_id = await _continued(services, identity, body.conversation_id)
    chat_request = ChatRequest([Turn(m.role, m.content) for m in body.messages], body.top_k, filters)
    events = services.history.recorded(
        services.chat.stream(chat_request, identity=identity), identity, conversation_id, body.messages[-1].content
    )
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        return await _as_json(events)

    async def stream() -> AsyncIterator[str]:
        async for event, data in events:
            if await request.is_disconnected():
                break  # the user pressed stop: stop generating
            yield sse(event, data)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _continued(services: Services, identity: Identity, conversation_id: str | None) -> str | None:
    """The conversation to continue: 404 if it is not the caller's; a database that is down (or no
    server-side history for this caller) only means the answer is not stored in it."""
    if conversation_id is None:
        return None
    try:
        await run_in_threadpool(services.history.check_conversation, identity, conversation_id)
    except (HistoryUnavailable, SignInRequired):
        return None
    return conversation_id


async def _as_json(events: AsyncIterator[Event]) -> JSONResponse:
    body: dict = {"answer": "", "sources": [], "mode": None, "answer_found": False, "query": None, "timings": {}}
    done_fields = ("answer_found", "timings", "mode", "conversation_id", "message_id")
    async for event, data in events:
        if event == "sources":
            body.update(sources=data["sources"], mode=data["mode"], query=data["query"])
        elif event == "token":
            body["answer"] += data["text"]
        elif event == "done":
            body.update({key: data[key] for key in done_fields})
        elif event == "error":
            return JSONResponse({"detail": data["message"]}, status_code=data["status"])
    return JSONResponse(body)
