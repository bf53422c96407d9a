"""From a request's headers and TCP peer to an `Identity`, for each AUTH_MODE.

- none: everyone is anonymous (the demo, a laptop).
- oidc: `Authorization: Bearer <jwt>` is required and validated (oidc.py); no token is a 401.
- proxy: an authenticating reverse proxy sets the user and groups headers. They are believed only
  when the TCP peer is in AUTH_PROXY_TRUSTED; any request from elsewhere is refused, so the API
  cannot be reached around the proxy. A trusted request without a user header is anonymous.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers

from confluence_rag.auth.errors import AuthError, unauthorized
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.auth.oidc import OidcVerifier
from confluence_rag.settings import Settings

MAX_GROUPS = 1000


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without the header; 401 for any other form."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("The Authorization header must be 'Bearer <token>'.", error="invalid_request")
    return token


def _groups(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return frozenset()
    return frozenset(g.strip() for g in value[:MAX_GROUPS] if isinstance(g, str) and g.strip())


class Authenticator:
    def __init__(self, settings: Settings, verifier: OidcVerifier | None = None):
        self.settings = settings
        self.mode = settings.auth_mode
        self.admin_groups = frozenset(settings.admin_groups)
        self.trusted = list(settings.auth_proxy_trusted)
        self.verifier = verifier
        if self.mode == "oidc" and verifier is None:
            self.verifier = OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_expected_audience,
                settings.oidc_timeout_s,
                settings.oidc_jwks_cache_s,
                settings.oidc_leeway_s,
                settings.oidc_jwks_cooldown_s,
            )

    def identify(self, headers: Headers, peer: str | None) -> Identity:
        if self.mode == "oidc":
            return self._from_token(headers.get("authorization"))
        if self.mode == "proxy":
            return self._from_proxy(headers, peer)
        return ANONYMOUS

    def _identity(self, user: str | None, groups: Iterable[str], display_name: str) -> Identity:
        groups = frozenset(groups)
        return Identity(user or None, groups, bool(groups & self.admin_groups), display_name or user or "")

    def _from_token(self, authorization: str | None) -> Identity:
        token = bearer_token(authorization)
        if token is None:
            raise unauthorized("Sign in first: this API needs 'Authorization: Bearer <token>'.", error=None)
        assert self.verifier is not None
        claims = self.verifier.verify(token)
        user = claims.get(self.settings.auth_user_claim)
        user = user.strip() if isinstance(user, str) else None
        display = (
            claims.get("name") or claims.get("preferred_username") or claims.get("email") or claims.get("sub") or ""
        )
        return self._identity(user, _groups(claims.get(self.settings.auth_groups_claim)), str(display))

    def peer_trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def _from_proxy(self, headers: Headers, peer: str | None) -> Identity:
        user_header = self.settings.auth_proxy_user_header
        groups_header = self.settings.auth_proxy_groups_header
        if not self.peer_trusted(peer):
            raise AuthError(
                403,
                "AUTH_MODE=proxy: requests must come through the authenticating proxy "
                "(this address is not in AUTH_PROXY_TRUSTED).",
            )
        users = headers.getlist(user_header)
        if len(users) > 1 or len(headers.getlist(groups_header)) > 1:
            raise AuthError(400, f"Only one {user_header} and one {groups_header} header may be sent.")
        user = users[0].strip() if users else ""
        if not user:
            return ANONYMOUS
        groups = [g.strip() for g in headers.get(groups_header, "").split(",")]
        return self._identity(user, _groups(groups), user)
