"""FastAPI dependencies for sign-in: `current_identity` for every reader, `require_admin` for operators.

Routers take `identity: Annotated[Identity, Depends(current_identity)]` and pass it on; they never
read tokens or headers themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.authenticator import Authenticator
from confluence_rag.auth.errors import AuthError
from confluence_rag.auth.identity import ANONYMOUS, Identity

# Declares the scheme in OpenAPI; the header itself is parsed strictly by bearer_token().
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="AUTH_MODE=oidc: an access token from OIDC_ISSUER. /api/ingest/* also takes ADMIN_TOKEN.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def get_authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


def _http_error(exc: AuthError) -> HTTPException:
    return HTTPException(exc.status, exc.message, headers=exc.headers or None)


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def _identify(request: Request) -> Identity:
    try:
        return get_authenticator(request).identify(request.headers, _peer(request))
    except AuthError as exc:
        raise _http_error(exc) from exc


async def current_identity(request: Request, _: Credentials = None) -> Identity:
    """Who is asking. oidc: 401 without a valid token; proxy: 403 from an untrusted address."""
    if get_authenticator(request).mode == "none":
        return ANONYMOUS
    # Validation may fetch the issuer's keys (bounded by OIDC_TIMEOUT_S): keep it off the event loop.
    return await run_in_threadpool(_identify, request)


async def require_admin(
    request: Request, _: Credentials = None, services: Services = Depends(get_services)
) -> Services:
    """Operators only: `Bearer <ADMIN_TOKEN>` (scripts, CLI) or a signed-in member of ADMIN_GROUPS."""
    authenticator = get_authenticator(request)
    if authenticator.is_admin_token(request.headers, _peer(request)):
        return services
    if authenticator.mode == "none":
        try:
            authenticator.admin_token.require(request.headers)  # raises: 403 while unset, else 401
        except AuthError as exc:
            raise _http_error(exc) from exc
    identity = await run_in_threadpool(_identify, request)
    if identity.is_admin:
        return services
    if identity.user is None and not identity.groups:
        raise HTTPException(
            401, "Sign in as an operator (ADMIN_GROUPS) or use ADMIN_TOKEN.", {"WWW-Authenticate": "Bearer"}
        )
    raise HTTPException(403, "Operators only: you are not in one of ADMIN_GROUPS.")


async def is_operator(request: Request, services: Services = Depends(get_services)) -> bool:
    """Whether the caller is an operator, for what only operators may see; never refuses the request."""
    try:
        await require_admin(request, services=services)
    except HTTPException:
        return False
    return True
