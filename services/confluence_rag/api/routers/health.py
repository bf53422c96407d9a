from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from confluence_rag.api.auth import is_operator
from confluence_rag.api.schemas import HealthOut, ReadyOut
from confluence_rag.api.services import Services, get_services

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness", response_model=HealthOut)
async def health() -> HealthOut:
    # async and without dependencies: it never waits for a backend or for the (maybe saturated) thread pool.
    return HealthOut(status="ok")


@router.get(
    "/ready",
    summary="Readiness: vector store reachable, model loaded, LLM configured?",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready: the vector store is unreachable or stale"}},
)
def ready(operator: Annotated[bool, Depends(is_operator)], services: Services = Depends(get_services)) -> JSONResponse:
    body = ReadyOut(
        ready=False,
        vector_store="ok",
        embedding_model=services.settings.embedding_model,
        llm_configured=services.settings.llm_configured,
        mode=services.chat.mode,
        chunks=None,
    )
    try:
        store = services.components.store()
        count = store.collection.count()
        # Restricted chunks included: only operators learn the total.
        body.chunks = count if operator else None
        built_with = store.fingerprint()
        if built_with and built_with != services.components.fingerprint:
            body.vector_store = (
                f"index built with {built_with.get('embedding_model')} "
                f"({built_with.get('embedding_backend', 'torch')}) and other embedding or chunking settings: "
                "run a full ingestion (make ingest SPACE=KEY FULL=1)"
            )
            return JSONResponse(body.model_dump(), status_code=503)
    except Exception as exc:
        services.components.forget_store()
        body.vector_store = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body.model_dump(), status_code=503)
    body.ready = True
    return JSONResponse(body.model_dump())
