"""What the Angular app needs to sign in (public), and who the caller is."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from confluence_rag.api.auth import current_identity
from confluence_rag.api.services import Services, get_services
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.web.errors import error_responses

router = APIRouter(prefix="/auth", tags=["auth"])


class AuthConfig(BaseModel):
    mode: Literal["none", "oidc", "proxy"]
    issuer: str = Field("", description="OIDC issuer (oidc mode)")
    client_id: str = Field("", description="Public OIDC client the app signs in with (code + PKCE)")
    scopes: str = Field("", description="Space-separated scopes to request")
    audience: str = Field("", description="Audience the API expects in access tokens")
    history: bool = Field(
        False, description="Signed-in users' conversations are kept on the server (else the page keeps them)"
    )


class Me(BaseModel):
    authenticated: bool = Field(description="False for anonymous callers")
    user: str | None = Field(description="The Confluence principal this identity maps to; null = anonymous")
    display_name: str
    groups: list[str]
    is_admin: bool = Field(description="Member of ADMIN_GROUPS: may use the ingestion panel")


@router.get("/config", summary="Sign-in configuration for the web app (public)")
def auth_config(services: Services = Depends(get_services)) -> AuthConfig:
    s = services.settings
    history = services.history.keeps_conversations
    if s.auth_mode != "oidc":
        return AuthConfig(mode=s.auth_mode, history=history)
    return AuthConfig(
        mode="oidc",
        history=history,
        issuer=s.oidc_issuer,
        client_id=s.oidc_client_id,
        scopes=s.oidc_scopes,
        audience=s.oidc_expected_audience,
    )


@router.get(
    "/me",
    summary="The signed-in identity (401 in oidc mode without a valid token)",
    responses=error_responses(401, 403),
)
def me(identity: Annotated[Identity, Depends(current_identity)]) -> Me:
    return Me(
        authenticated=identity != ANONYMOUS,
        user=identity.user,
        display_name=identity.display_name,
        groups=sorted(identity.groups),
        is_admin=identity.is_admin,
    )
