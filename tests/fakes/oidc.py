"""An OpenID Connect provider over HTTP for the sign-in tests, built on Authlib's authorization server.

Serves what a browser app and a resource server use from a real identity provider:
- `GET /.well-known/openid-configuration` (discovery) and `GET /jwks` (public signing keys);
- `GET /authorize`: a login form (username + password from `users`), `POST /authorize`: checks them
  and redirects back with a code; authorization code + PKCE (S256, required: a public client);
- `POST /token`: the code (or a refresh token) for RS256-signed access and id tokens carrying `iss`,
  `aud`, `exp`, `preferred_username`, `name` and `groups`; refresh tokens rotate;
- `GET /userinfo` and `GET /logout` (end session: back to the post-logout redirect URI);
- CORS on the endpoints a browser app calls from its own origin.
`rotate_key()` starts signing with a new key id (the old key stays published); `mint()` signs
arbitrary claims (expired, wrong audience...) for the validation tests; `jwks_delay_s` slows the JWKS.
Run standalone: `python -m tests.fakes.oidc --port 8092 --client-id chat --redirect-uri http://127.0.0.1:8080/`.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.fakes.http import FakeServer

# Authlib refuses plain http; the fake only ever listens on loopback.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


@dataclass
class User:
    username: str
    password: str
    groups: list[str]
    name: str = ""

    def get_user_id(self) -> str:
        return self.username


DEFAULT_USERS = [
    User("alice", "alice-pw", ["finance", "staff"], "Alice Martin"),
    User("bob", "bob-pw", ["staff"], "Bob Durand"),
    User("olga", "olga-pw", ["staff", "rag-admins"], "Olga Operator"),
]


@dataclass
class Client(ClientMixin):
    client_id: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email", "offline_access", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client: no secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


@dataclass
class RefreshToken(TokenMixin):
    token: str
    client_id: str
    scope: str
    user: User
    auth_time: int
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 3600

    def is_revoked(self) -> bool:
        return self.revoked

    def is_expired(self) -> bool:
        return False


class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


def _user_claims(user: User, scope: str) -> dict:
    claims = {"sub": user.username, "preferred_username": user.username, "groups": list(user.groups)}
    if "profile" in (scope or "").split():
        claims["name"] = user.name or user.username
    return claims


class FakeOIDCProvider(FakeServer):
    def __init__(
        self,
        *,
        client_id: str = "chat",
        redirect_uris: list[str] | None = None,
        audience: str | None = None,
        users: list[User] | None = None,
        access_token_ttl_s: int = 300,
    ):
        self.client = Client(client_id, list(redirect_uris or []))
        self.audience = audience or client_id
        self.users = {u.username: u for u in (users or DEFAULT_USERS)}
        self.access_token_ttl_s = access_token_ttl_s
        self.keys: list[RSAKey] = []
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.requests: list[str] = []  # "METHOD /path" of every request, for the tests
        self.jwks_delay_s = 0.0  # a slow identity provider: each GET /jwks answers after this long
        self._lock = threading.Lock()
        super().__init__(_Handler)
        self.rotate_key()
        self.server = self._authorization_server()

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        super().start(host, port)
        self.server._token_generators["default"].issuer = self.issuer  # the port is known now
        return self.issuer

    issuer = FakeServer.url

    # --- keys ------------------------------------------------------------------------------
    def rotate_key(self) -> str:
        """Sign from now on with a fresh key (new kid); earlier keys stay published in the JWKS."""
        kid = f"k{len(self.keys) + 1}-{uuid.uuid4().hex[:6]}"
        self.keys.append(RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}))
        return kid

    @property
    def signing_keys(self) -> KeySet:
        return KeySet([self.keys[-1]])

    def jwks(self) -> dict:
        return KeySet(self.keys).as_dict(private=False)

    def mint(self, claims: dict | None = None, *, key: RSAKey | None = None, kid: str | None = None, **over) -> str:
        """A signed access token for `alice` unless overridden; `key`/`kid` to forge bad signatures."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + 300,
            "client_id": self.client.client_id,
        }
        body.update(_user_claims(self.users["alice"], "openid profile"))
        body.update(claims or {})
        body.update(over)
        body = {k: v for k, v in body.items() if v is not None}
        signer = key or self.keys[-1]
        header = {"alg": "RS256", "typ": "at+jwt", "kid": kid or signer.kid}
        return jwt.encode(header, body, signer)

    # --- the Authlib server ----------------------------------------------------------------
    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id):
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token, request):
                if token.get("refresh_token"):
                    # The sign-in time survives refreshes: OIDC Core 12.2 wants the same auth_time.
                    earlier = request.authorization_code or request.refresh_token
                    provider.refresh_tokens[token["refresh_token"]] = RefreshToken(
                        token["refresh_token"],
                        request.client.client_id,
                        token.get("scope", ""),
                        request.user,
                        earlier.auth_time if earlier else int(time.time()),
                    )

            def create_oauth2_request(self, request):
                return request

            def handle_response(self, status, body, headers):
                return status, body, headers

            def send_signal(self, name, *args, **kwargs):
                pass

        class AccessTokens(JWTBearerTokenGenerator):
            def get_jwks(self):
                return provider.signing_keys

            def get_audiences(self, client, user, scope):
                return provider.audience

            def get_extra_claims(self, client, grant_type, user, scope):
                return _user_claims(user, scope) if user else {}

        class IdTokens:
            def resolve_client_private_key(self, client):
                return provider.signing_keys

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": provider.keys[-1].kid}

            def get_client_algorithm(self, client):
                return "RS256"

            def generate_user_info(self, user, scope):
                return UserInfo(_user_claims(user, scope))

        class IdTokenOnCode(IdTokens, OpenIDCode):
            def exists_nonce(self, nonce, request):
                return any(c.nonce == nonce for c in provider.codes.values())

        class IdTokenOnRefresh(IdTokens, OpenIDToken):
            """A refreshed id token: same iss, sub, aud and auth_time as the first (OIDC Core 12.2)."""

            def get_compatible_claims(self, request):
                claims = super().get_compatible_claims(request)
                claims["auth_time"] = request.refresh_token.auth_time
                return claims

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

            def save_authorization_code(self, code, request):
                provider.codes[code] = AuthorizationCode(
                    code,
                    request.client.client_id,
                    request.payload.redirect_uri,
                    request.payload.scope,
                    request.user,
                    request.payload.data.get("nonce"),
                    request.payload.data.get("code_challenge"),
                    request.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class RefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token):
                found = provider.refresh_tokens.get(refresh_token)
                return found if found and not found.revoked else None

            def authenticate_user(self, credential):
                return credential.user

            def revoke_old_credential(self, credential):
                credential.revoked = True

        server = Server(scopes_supported=["openid", "profile", "email", "offline_access", "groups"])
        server.register_token_generator(
            "default",
            AccessTokens(
                issuer="",  # set by start(), once the port is known
                refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=lambda client, grant_type: provider.access_token_ttl_s,
            ),
        )
        server.register_grant(CodeGrant, [S256Only(required=True), IdTokenOnCode(require_nonce=False)])
        server.register_grant(RefreshGrant, [IdTokenOnRefresh()])
        return server

    def metadata(self) -> dict:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/jwks",
            "end_session_endpoint": base + "/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access", "groups"],
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "preferred_username", "name", "groups"],
        }


class _Request(OAuth2Request):
    """An OAuth2Request from the parsed query (GET) or form (POST): the framework glue Authlib asks for."""

    def __init__(self, method: str, uri: str, headers: dict, data: dict):
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict:
        return self._data if self.method == "GET" else {}

    @property
    def form(self) -> dict:
        return self._data if self.method == "POST" else {}


LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Fake IdP sign-in</title></head>
<body><h1>Sign in</h1>{error}<form method="post" action="/authorize">{hidden}
<label>Username <input name="username" id="username" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="kc-login">Sign in</button></form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOIDCProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    # --- plumbing --------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | str | dict, headers: list | dict | None = None, ctype: str = "") -> None:
        if isinstance(body, dict):
            body, ctype = json.dumps(body), "application/json"
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        names = set()
        for name, value in items:
            names.add(name.lower())
            self.send_header(name, value)
        if ctype and "content-type" not in names:
            self.send_header("Content-Type", ctype)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authlib(self, response: tuple) -> None:
        status, body, headers = response
        if isinstance(body, dict | list):
            body = json.dumps(body)
        self._send(status, body or "", headers, "application/json")

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))

    def _request(self, data: dict) -> OAuth2Request:
        return _Request(self.command, self.owner.issuer + self.path, dict(self.headers), data)

    # --- endpoints -------------------------------------------------------------------------
    def do_OPTIONS(self) -> None:  # CORS preflight (userinfo with Authorization)
        self._send(
            204,
            b"",
            {
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Allow-Methods": "GET, POST",
            },
        )

    def do_GET(self) -> None:
        owner = self.owner
        path, _, query = self.path.partition("?")
        owner.requests.append(f"GET {path}")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if path == "/.well-known/openid-configuration":
            return self._send(200, owner.metadata())
        if path == "/jwks":
            time.sleep(owner.jwks_delay_s)
            return self._send(200, owner.jwks())
        if path == "/authorize":
            return self._login_page(params)
        if path == "/userinfo":
            return self._userinfo()
        if path == "/logout":
            target = params.get("post_logout_redirect_uri", "")
            if target and target not in owner.client.redirect_uris:
                return self._send(400, {"error": "invalid_request", "error_description": "unknown redirect"})
            return self._send(302, b"", {"Location": target or owner.issuer + "/"})
        self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        owner = self.owner
        path = self.path.partition("?")[0]
        form = self._form()
        owner.requests.append(f"POST {path} {form.get('grant_type', '')}".rstrip())
        if path == "/token":
            with owner._lock:
                return self._authlib(owner.server.create_token_response(self._request(form)))
        if path == "/authorize":
            username, password = form.pop("username", ""), form.pop("password", "")
            user = owner.users.get(username)
            if user is None or not secrets.compare_digest(user.password, password):
                return self._login_page(form, error="Wrong username or password.")
            request = self._request(form)
            with owner._lock:
                try:
                    grant = owner.server.get_consent_grant(request, end_user=user)
                except Exception as exc:  # an OAuth2Error: shown, never redirected to an unchecked URI
                    return self._send(400, {"error": getattr(exc, "error", "invalid_request")})
                request.user = user
                return self._authlib(owner.server.create_authorization_response(request, user, grant))
        self._send(404, {"error": "not_found"})

    def _login_page(self, params: dict, error: str = "") -> None:
        try:
            self.owner.server.get_consent_grant(self._request(params))
        except Exception as exc:
            return self._send(400, {"error": getattr(exc, "error", "invalid_request")})
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
        )
        page = LOGIN_PAGE.format(hidden=hidden, error=f"<p id='error'>{html.escape(error)}</p>" if error else "")
        self._send(200, page, ctype="text/html; charset=utf-8")

    def _userinfo(self) -> None:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        try:
            claims = jwt.decode(token, KeySet(self.owner.keys)).claims if scheme.lower() == "bearer" else None
        except Exception:
            claims = None
        if not claims or claims.get("exp", 0) < time.time():
            return self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        user = self.owner.users[claims["sub"]]
        self._send(200, _user_claims(user, claims.get("scope", "")))


def main() -> None:  # pragma: no cover - manual runs
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--client-id", default="chat")
    parser.add_argument("--redirect-uri", action="append", default=[])
    args = parser.parse_args()
    provider = FakeOIDCProvider(client_id=args.client_id, redirect_uris=args.redirect_uri)
    print("issuer:", provider.start(port=args.port), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
