from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import SearchBody
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity

router = APIRouter(tags=["search"])


@router.get("/spaces", summary="Spaces present in the index")
async def spaces(
    identity: Annotated[Identity, Depends(current_identity)], services: Services = Depends(get_services)
) -> dict:
    return {"spaces": await run_in_threadpool(services.search.spaces, identity=identity)}


@router.post("/search", summary="Hybrid search, one result per page, best first")
async def search(
    body: SearchBody,
    identity: Annotated[Identity, Depends(current_identity)],
    services: Services = Depends(get_services),
) -> dict:
    filters = await run_in_threadpool(services.filters, body.spaces, body.labels, identity=identity)
    results = await run_in_threadpool(services.search.search, body.query, body.top_k, filters, identity=identity)
    return {"results": [r.public() for r in results]}
