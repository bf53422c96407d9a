from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from confluence_rag.answering.chat import ChatRequest, Event, Turn
from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import ChatBody
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity

router = APIRouter(tags=["chat"])


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/chat",
    summary="Answer a conversation: server-sent events (sources, token…, done | error), or JSON",
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def chat(
    body: ChatBody,
    request: Request,
    identity: Annotated[Identity, Depends(current_identity)],
    services: Services = Depends(get_services),
):
    filters = await run_in_threadpool(services.filters, body.spaces, body.labels, identity=identity)
    chat_request = ChatRequest([Turn(m.role, m.content) for m in body.messages], body.top_k, filters)
    events = services.chat.stream(chat_request, identity=identity)
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


async def _as_json(events: AsyncIterator[Event]) -> JSONResponse:
    body: dict = {"answer": "", "sources": [], "mode": None, "answer_found": False, "query": None, "timings": {}}
    async for event, data in events:
        if event == "sources":
            body.update(sources=data["sources"], mode=data["mode"], query=data["query"])
        elif event == "token":
            body["answer"] += data["text"]
        elif event == "done":
            body.update(answer_found=data["answer_found"], timings=data["timings"], mode=data["mode"])
        elif event == "error":
            return JSONResponse({"detail": data["message"]}, status_code=data["status"])
    return JSONResponse(body)
