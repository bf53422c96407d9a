"""FastAPI dependencies for sign-in: `current_identity` for every reader, `require_admin` for operators.

Routers take `identity: Annotated[Identity, Depends(current_identity)]` and pass it on; they never
read tokens or headers themselves.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.authenticator import Authenticator, bearer_token
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


def _identify(request: Request) -> Identity:
    try:
        return get_authenticator(request).identify(request.headers, request.client.host if request.client else None)
    except AuthError as exc:
        raise _http_error(exc) from exc


async def current_identity(request: Request, _: Credentials = None) -> Identity:
    """Who is asking. oidc: 401 without a valid token; proxy: 403 from an untrusted address."""
    if get_authenticator(request).mode == "none":
        return ANONYMOUS
    # Validation may fetch the issuer's keys (bounded by OIDC_TIMEOUT_S): keep it off the event loop.
    return await run_in_threadpool(_identify, request)


def _is_admin_token(request: Request, services: Services) -> bool:
    expected = services.settings.admin_token.get_secret_value()
    header = request.headers.get("authorization")
    if not expected or header is None:
        return False
    try:
        token = bearer_token(header)
    except AuthError:
        return False
    return token is not None and hmac.compare_digest(token.encode(), expected.encode())


async def require_admin(
    request: Request, _: Credentials = None, services: Services = Depends(get_services)
) -> Services:
    """Operators only: `Bearer <ADMIN_TOKEN>` (scripts, CLI) or a signed-in member of ADMIN_GROUPS."""
    if _is_admin_token(request, services):
        return services
    authenticator = get_authenticator(request)
    if authenticator.mode == "none":
        if not services.settings.admin_token.get_secret_value():
            raise HTTPException(403, "Ingestion control is disabled: set ADMIN_TOKEN.")
        raise HTTPException(
            401, "Missing or wrong admin token ('Authorization: Bearer <ADMIN_TOKEN>').", {"WWW-Authenticate": "Bearer"}
        )
    identity = await run_in_threadpool(_identify, request)
    if identity.is_admin:
        return services
    if identity.user is None and not identity.groups:
        raise HTTPException(
            401, "Sign in as an operator (ADMIN_GROUPS) or use ADMIN_TOKEN.", {"WWW-Authenticate": "Bearer"}
        )
    raise HTTPException(403, "Operators only: you are not in one of ADMIN_GROUPS.")
