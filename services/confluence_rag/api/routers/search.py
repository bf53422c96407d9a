from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from confluence_rag.api.auth import current_identity
from confluence_rag.api.schemas import SearchBody, SearchOut, SpacesOut
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import Identity
from confluence_rag.web.errors import error_responses

router = APIRouter(tags=["search"])


@router.get(
    "/spaces", summary="Spaces present in the index", response_model=SpacesOut, responses=error_responses(401, 403, 503)
)
async def spaces(
    identity: Annotated[Identity, Depends(current_identity)], services: Services = Depends(get_services)
) -> SpacesOut:
    return SpacesOut(spaces=await run_in_threadpool(services.search.spaces, identity=identity))


@router.post(
    "/search",
    summary="Hybrid search, one result per page, best first",
    response_model=SearchOut,
    responses=error_responses(400, 401, 403, 404, 413, 422, 503),
)
async def search(
    body: SearchBody,
    identity: Annotated[Identity, Depends(current_identity)],
    services: Services = Depends(get_services),
) -> SearchOut:
    filters = await run_in_threadpool(services.filters, body.spaces, body.labels, identity=identity)
    results = await run_in_threadpool(services.search.search, body.query, body.top_k, filters, identity=identity)
    return SearchOut(results=[r.public() for r in results])
