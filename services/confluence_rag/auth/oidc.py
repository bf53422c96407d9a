"""Bearer token validation against an OpenID Connect issuer (PyJWT does the JOSE work).

The issuer's metadata is read once from `<issuer>/.well-known/openid-configuration`; its signing keys
come from `jwks_uri` through PyJWT's `PyJWKClient`, which caches them and refetches the set when a
token names a key id it does not know (key rotation), at most once per cooldown: tokens with made-up
key ids cannot turn this service into a flood of requests to the identity provider.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import jwt

from confluence_rag.auth.errors import AuthError, unauthorized

log = logging.getLogger(__name__)

# Asymmetric algorithms only: an HMAC "signature" keyed with a public key must never be accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def idp_unavailable(what: str) -> AuthError:
    return AuthError(503, f"The identity provider is unreachable ({what}); try again in a moment.")


class OidcVerifier:
    def __init__(
        self, issuer: str, audience: str, timeout_s: float, jwks_cache_s: int, leeway_s: int, cooldown_s: float
    ):
        self.issuer = issuer
        self.audience = audience
        self.timeout_s = timeout_s
        self.jwks_cache_s = jwks_cache_s
        self.leeway_s = leeway_s
        self.cooldown_s = cooldown_s
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                try:
                    response = httpx.get(self.discovery_url, timeout=self.timeout_s)
                    response.raise_for_status()
                    metadata = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("OIDC discovery failed: %s", type(exc).__name__)
                    raise idp_unavailable("discovery") from exc
                if metadata.get("issuer") != self.issuer or not metadata.get("jwks_uri"):
                    # OpenID Connect Discovery 1.0 §4.3: the issuer in the metadata must be the configured one.
                    log.error("OIDC discovery: issuer %r does not match OIDC_ISSUER", metadata.get("issuer"))
                    raise AuthError(503, "The identity provider's metadata does not match OIDC_ISSUER.")
                self._jwks = jwt.PyJWKClient(
                    metadata["jwks_uri"],
                    cache_jwk_set=True,
                    lifespan=self.jwks_cache_s,
                    timeout=self.timeout_s,
                    cooldown_duration=self.cooldown_s,
                )
            return self._jwks

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """The published key the token names. A known key id is looked up in the cached set without
        PyJWKClient's lock: an unknown one refetches the set under that lock (at most once per
        cooldown), and valid tokens must never wait behind that refetch."""
        client = self._jwks_client()
        kid = jwt.get_unverified_header(token).get("kid")
        return client.match_kid(client.get_signing_keys(), kid) or client.get_signing_key(kid)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or AuthError (401 for a bad token, 503 when the issuer is unreachable)."""
        try:
            key = self._signing_key(token)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            raise idp_unavailable("signing keys") from exc
        except jwt.PyJWKClientError as exc:
            raise unauthorized("The token is signed with a key the identity provider does not publish.") from exc
        except jwt.InvalidTokenError as exc:
            raise unauthorized("The bearer token is not a well-formed JWT.") from exc
        try:
            # The key decides the algorithm: a header naming another one (ES256 on an RSA key...) is
            # refused by PyJWT as not allowed, never tried with the wrong kind of key.
            return jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name] if key.algorithm_name in ALGORITHMS else [],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("The token has expired; sign in again.") from exc
        except jwt.InvalidAudienceError as exc:
            raise unauthorized("The token was not issued for this service (audience).") from exc
        except jwt.InvalidIssuerError as exc:
            raise unauthorized("The token was not issued by the configured identity provider (issuer).") from exc
        except jwt.InvalidSignatureError as exc:
            raise unauthorized("The token's signature is invalid.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise unauthorized(f"The token lacks the required claim {exc.claim!r}.") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise unauthorized("The token's algorithm does not match its signing key.") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"The token is invalid ({type(exc).__name__}).") from exc
