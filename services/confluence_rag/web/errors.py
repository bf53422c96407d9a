"""One error body for every 4xx/5xx, declared in the OpenAPI document, and the handlers producing it.

FastAPI's own 422 body is a list of pydantic errors; ours is `{"detail": "<one readable message>"}`
like every other error, so the declared model (ErrorBody) is what clients really get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

# Validation errors that are a malformed request rather than an invalid value: 400, not 422.
BAD_REQUEST_TYPES = {"json_invalid", "control_characters"}

DESCRIPTIONS = {
    400: "Malformed request (invalid JSON, text without any visible character)",
    401: "Missing or wrong credentials",
    403: "Not allowed, or the feature is switched off",
    404: "Not found (unknown space, job...)",
    409: "Conflict with the current state (a sync of this space is already queued or running)",
    413: "Request body larger than MAX_BODY_BYTES",
    422: "Invalid value in the request",
    502: "A backend (the language model) failed",
    503: "A backend (vector store, language model, ingest worker) is unreachable",
    504: "A backend (the language model) did not answer in time",
}


class ErrorBody(BaseModel):
    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status it may answer, all with the ErrorBody model."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in sorted(set(statuses))}


def validation_message(exc: RequestValidationError) -> tuple[int, str]:
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return 400, "Invalid JSON body."
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        message = f"{where}: {err.get('msg')}" if where else str(err.get("msg"))
        if err.get("type") in BAD_REQUEST_TYPES:
            return 400, message
        parts.append(message)
    return 422, "; ".join(parts) or "Invalid request."


def allowed_methods(app: FastAPI, scope: dict) -> list[str]:
    """Every method some route accepts for this path (Starlette's 405 names only the first route's)."""
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = validation_message(exc)
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 405:
            methods = allowed_methods(app, request.scope)
            if request.method == "OPTIONS" and methods:
                return Response(status_code=204, headers={"Allow": ", ".join([*methods, "OPTIONS"])})
            headers["Allow"] = ", ".join(methods)
            detail = f"Method {request.method} not allowed here; use {' or '.join(methods) or 'another path'}."
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)
