"""From a request's headers and TCP peer to an `Identity`, for each AUTH_MODE.

- none: everyone is anonymous (the demo, a laptop).
- oidc: `Authorization: Bearer <jwt>` is required and validated (oidc.py); no token is a 401.
- proxy: an authenticating reverse proxy sets the user and groups headers. They are believed only
  when the TCP peer is in AUTH_PROXY_TRUSTED; any request from elsewhere is refused, so the API
  cannot be reached around the proxy. A trusted request without a user header is anonymous.

Server/DC usernames are case-insensitive in Confluence: with a Server/DC source the user is lower-cased
here, as the index stores it (access/confluence.py). Cloud account ids are opaque: kept as sent.
ADMIN_TOKEN (scripts, the CLI, the worker's control API) is checked by `AdminToken`, the one place.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers

from confluence_rag.auth.errors import AuthError, unauthorized
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.auth.oidc import OidcVerifier
from confluence_rag.settings import Settings

MAX_GROUPS = 1000
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
# One space exactly, nothing around (the server already strips the value's surrounding whitespace).
BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9._~+/-]+=*)")


def bearer_token(headers: Headers) -> str | None:
    """The token of the one `Authorization: Bearer <token>` header; None without one; 401 for any other
    form, and for two Authorization headers (never "the first wins")."""
    values = headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise unauthorized("Send one Authorization header, not several.", error="invalid_request")
    match = BEARER.fullmatch(values[0])
    if match is None:
        raise unauthorized("The Authorization header must be 'Bearer <token>'.", error="invalid_request")
    return match.group(1)


class AdminToken:
    """ADMIN_TOKEN: the operators' bearer token for scripts, the CLI and the worker's control API."""

    def __init__(self, secret: SecretStr):
        self._expected = secret.get_secret_value().encode()

    @property
    def enabled(self) -> bool:
        return bool(self._expected)

    def presented(self, headers: Headers) -> bool:
        """Whether the request carries `Bearer <ADMIN_TOKEN>` (compared in constant time)."""
        if not self.enabled:
            return False
        try:
            token = bearer_token(headers)
        except AuthError:
            return False
        return token is not None and hmac.compare_digest(token.encode(), self._expected)

    def require(self, headers: Headers) -> None:
        """403 while ADMIN_TOKEN is unset (the control is off), 401 unless the request carries it."""
        if not self.enabled:
            raise AuthError(403, "Ingestion control is disabled: set ADMIN_TOKEN.")
        if not self.presented(headers):
            raise unauthorized("Missing or wrong admin token ('Authorization: Bearer <ADMIN_TOKEN>').", error=None)


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
        self.admin_token = AdminToken(settings.admin_token)
        self.case_insensitive_users = not settings.confluence_cloud
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
            return self._from_token(headers)
        if self.mode == "proxy":
            return self._from_proxy(headers, peer)
        return ANONYMOUS

    def is_admin_token(self, headers: Headers, peer: str | None) -> bool:
        """`Bearer <ADMIN_TOKEN>` counts from any address, except in proxy mode: there, like every
        request, only from AUTH_PROXY_TRUSTED (docs/security.md)."""
        if self.mode == "proxy" and not self.peer_trusted(peer):
            return False
        return self.admin_token.presented(headers)

    def _identity(self, user: str | None, groups: Iterable[str], display_name: str) -> Identity:
        groups = frozenset(groups)
        display_name = display_name or user or ""
        if user and self.case_insensitive_users:
            user = user.lower()
        return Identity(user or None, groups, bool(groups & self.admin_groups), display_name)

    def _from_token(self, headers: Headers) -> Identity:
        token = bearer_token(headers)
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
