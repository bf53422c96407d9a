"""Sign-in: bearer tokens from a real OpenID Connect provider over HTTP (tests/fakes/oidc.py), trusted
proxy headers, and operators (ADMIN_GROUPS or ADMIN_TOKEN) on /api/ingest/*."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey

from confluence_rag.api.app import create_app
from confluence_rag.settings import Settings
from tests.conftest import ServerThread, free_port
from tests.fakes.oidc import FakeOIDCProvider

ADMIN = "auth-test-admin-token"
COOLDOWN = 0.5  # OIDC_JWKS_COOLDOWN_S: short, so the rotation test waits little


def _settings(tmp_path, **values) -> Settings:
    base = {
        "chroma_path": tmp_path / "chroma",
        "state_dir": tmp_path / "state",
        "chroma_collection": f"t{uuid.uuid4().hex[:12]}",
        "admin_token": ADMIN,
        "admin_groups": ["rag-admins"],
    }
    return Settings(_env_file=None, **{**base, **values})


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOIDCProvider]:
    fake = FakeOIDCProvider(client_id="chat", audience="confluence-rag", redirect_uris=["http://127.0.0.1/"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def oidc_api(provider, tmp_path_factory) -> Iterator[TestClient]:
    settings = _settings(
        tmp_path_factory.mktemp("oidc"),
        auth_mode="oidc",
        oidc_issuer=provider.issuer,
        oidc_client_id="chat",
        oidc_audience="confluence-rag",
        oidc_leeway_s=0,
        oidc_jwks_cooldown_s=COOLDOWN,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_is_accepted_and_mapped_to_an_identity(oidc_api, provider):
    me = oidc_api.get("/api/auth/me", headers=bearer(provider.mint()))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "authenticated": True,
        "user": "alice",
        "display_name": "Alice Martin",
        "groups": ["finance", "staff"],
        "is_admin": False,
    }
    search = oidc_api.post("/api/search", json={"query": "pager"}, headers=bearer(provider.mint()))
    assert search.status_code == 200 and search.json() == {"results": []}
    assert oidc_api.get("/api/spaces", headers=bearer(provider.mint())).status_code == 200


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda p: p.mint(key=RSAKey.generate_key(2048), kid=p.keys[-1].kid), "signature"),
        (lambda p: p.mint(iss="https://evil.example"), "issuer"),
        (lambda p: p.mint(aud="some-other-api"), "audience"),
        (lambda p: p.mint(exp=int(time.time()) - 60), "expired"),
        (lambda p: p.mint(exp=None), "exp"),
        (lambda p: "not.a.jwt", "well-formed"),
    ],
    ids=["wrong-signature", "wrong-issuer", "wrong-audience", "expired", "no-exp", "garbage"],
)
def test_bad_tokens_are_refused_with_401(oidc_api, provider, forge, message):
    for path in ("/api/auth/me", "/api/spaces"):
        response = oidc_api.get(path, headers=bearer(forge(provider)))
        assert response.status_code == 401, response.text
        assert message in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith('Bearer realm="confluence-rag", error="invalid_token"')
    chat = oidc_api.post(
        "/api/chat", json={"messages": [{"role": "user", "content": "hi"}]}, headers=bearer(forge(provider))
    )
    assert chat.status_code == 401


def test_without_a_token_or_with_a_bare_one_the_api_asks_to_sign_in(oidc_api, provider):
    missing = oidc_api.post("/api/search", json={"query": "pager"})
    assert missing.status_code == 401 and "Sign in" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == 'Bearer realm="confluence-rag"'
    bare = oidc_api.get("/api/auth/me", headers={"Authorization": provider.mint()})
    assert bare.status_code == 401 and "must be 'Bearer <token>'" in bare.json()["detail"]
    assert oidc_api.get("/api/health").status_code == 200  # liveness stays open


def test_the_sign_in_configuration_is_public(oidc_api, provider):
    config = oidc_api.get("/api/auth/config")
    assert config.status_code == 200
    assert config.json() == {
        "mode": "oidc",
        "issuer": provider.issuer,
        "client_id": "chat",
        "scopes": "openid profile email offline_access",
        "audience": "confluence-rag",
        "history": True,  # signed-in users' conversations are kept on the server (HISTORY=on)
    }


def test_openapi_declares_the_bearer_scheme(oidc_api):
    spec = oidc_api.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert {"bearer": []} in spec["paths"]["/api/search"]["post"]["security"]
    assert {"bearer": []} in spec["paths"]["/api/ingest/jobs"]["get"]["security"]
    assert "security" not in spec["paths"]["/api/auth/config"]["get"]


def test_a_rotated_signing_key_is_fetched_once_and_accepted(oidc_api, provider):
    assert oidc_api.get("/api/auth/me", headers=bearer(provider.mint())).status_code == 200
    fetched = provider.requests.count("GET /jwks")
    provider.rotate_key()
    time.sleep(COOLDOWN + 0.1)  # let the refetch throttle pass
    token = provider.mint()
    assert oidc_api.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert oidc_api.get("/api/auth/me", headers=bearer(provider.mint())).status_code == 200
    assert provider.requests.count("GET /jwks") == fetched + 1  # one refetch, then cached


def test_made_up_key_ids_cannot_flood_the_identity_provider(oidc_api, provider):
    time.sleep(COOLDOWN + 0.1)
    before = provider.requests.count("GET /jwks")
    stranger = RSAKey.generate_key(2048)
    for i in range(20):
        response = oidc_api.get("/api/auth/me", headers=bearer(provider.mint(key=stranger, kid=f"made-up-{i}")))
        assert response.status_code == 401 and "key the identity provider does not publish" in response.text
    assert provider.requests.count("GET /jwks") - before <= 2


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "EdDSA", "PS256", "HS256", "none"])
def test_a_token_naming_another_algorithm_than_its_key_is_a_401_never_a_500(oidc_api, provider, alg):
    """The provider's RSA key id with an EC/EdDSA/HMAC algorithm in the header."""
    _, payload, _ = provider.mint().split(".")
    header = _b64url(json.dumps({"alg": alg, "typ": "at+jwt", "kid": provider.keys[-1].kid}).encode())
    response = oidc_api.get("/api/auth/me", headers=bearer(f"{header}.{payload}.{_b64url(os.urandom(64))}"))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="confluence-rag", error="invalid_token"')


def test_valid_tokens_never_wait_for_a_jwks_refetch(provider, tmp_path):
    """An unknown key id refetches the key set (slow here); valid tokens meanwhile answer at once."""
    settings = _settings(
        tmp_path,
        auth_mode="oidc",
        oidc_issuer=provider.issuer,
        oidc_client_id="chat",
        oidc_audience="confluence-rag",
        oidc_jwks_cooldown_s=0,
    )
    stranger = RSAKey.generate_key(2048)
    with ServerThread(create_app(settings)) as server, ThreadPoolExecutor(8) as pool:
        client = httpx.Client(base_url=server.url, timeout=30)
        assert client.get("/api/auth/me", headers=bearer(provider.mint())).status_code == 200  # keys cached
        provider.jwks_delay_s = 3.0
        try:
            unknown = pool.submit(client.get, "/api/auth/me", headers=bearer(provider.mint(key=stranger, kid="new")))
            time.sleep(0.5)
            assert not unknown.done() and provider.requests[-1] == "GET /jwks", "no refetch under way"

            def timed_valid_request() -> tuple[int, float]:
                start = time.monotonic()
                status = client.get("/api/auth/me", headers=bearer(provider.mint())).status_code
                return status, time.monotonic() - start

            answers = list(pool.map(lambda _: timed_valid_request(), range(5)))
            assert [status for status, _ in answers] == [200] * 5
            assert max(seconds for _, seconds in answers) < 1.5, answers
            assert unknown.result().status_code == 401
        finally:
            provider.jwks_delay_s = 0.0


def test_two_authorization_headers_are_a_401_never_the_first_wins(oidc_api, provider):
    twice = [("Authorization", f"Bearer {provider.mint()}"), ("Authorization", "Bearer forged")]
    response = oidc_api.get("/api/auth/me", headers=twice)
    assert response.status_code == 401 and "one Authorization header" in response.json()["detail"]
    admin_first = [("Authorization", f"Bearer {ADMIN}"), ("Authorization", "Bearer x")]
    assert oidc_api.get("/api/ingest/jobs", headers=admin_first).status_code == 401


def test_operators_are_members_of_admin_groups_or_hold_the_admin_token(oidc_api, provider):
    bob = provider.mint(preferred_username="bob", sub="bob", groups=["staff"], name="Bob")
    olga = provider.mint(preferred_username="olga", sub="olga", groups=["staff", "rag-admins"], name="Olga")
    refused = oidc_api.get("/api/ingest/jobs", headers=bearer(bob))
    assert refused.status_code == 403 and "ADMIN_GROUPS" in refused.json()["detail"]
    assert oidc_api.post("/api/ingest/jobs", json={"space_key": "X"}, headers=bearer(bob)).status_code == 403
    assert oidc_api.get("/api/ingest/jobs", headers=bearer(olga)).status_code == 200
    assert oidc_api.get("/api/auth/me", headers=bearer(olga)).json()["is_admin"] is True
    assert oidc_api.get("/api/ingest/jobs", headers=bearer(ADMIN)).status_code == 200  # scripts, CLI
    assert oidc_api.get("/api/ingest/jobs").status_code == 401
    assert oidc_api.get("/api/ingest/jobs", headers={"Authorization": ADMIN}).status_code == 401  # bare: refused


def test_an_unreachable_identity_provider_is_a_clear_503(tmp_path):
    settings = _settings(tmp_path, auth_mode="oidc", oidc_issuer=f"http://127.0.0.1:{free_port()}", oidc_client_id="c")
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/auth/me", headers=bearer("a.b.c"))
    assert response.status_code == 503 and "identity provider is unreachable" in response.json()["detail"]


def test_discovery_must_name_the_configured_issuer(tmp_path, provider):
    settings = _settings(tmp_path, auth_mode="oidc", oidc_issuer=provider.issuer + "/", oidc_client_id="chat")
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/auth/me", headers=bearer(provider.mint()))
    assert response.status_code == 503 and "does not match OIDC_ISSUER" in response.json()["detail"]


# --- proxy mode ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy_app(tmp_path_factory):
    return create_app(_settings(tmp_path_factory.mktemp("proxy"), auth_mode="proxy"))


def test_proxy_headers_from_an_untrusted_address_are_refused(proxy_app):
    # TestClient's peer is "testclient", not an address in AUTH_PROXY_TRUSTED.
    with TestClient(proxy_app) as client:
        forged = client.post("/api/search", json={"query": "x"}, headers={"X-Forwarded-User": "ceo"})
        assert forged.status_code == 403 and "AUTH_PROXY_TRUSTED" in forged.json()["detail"]
        assert client.get("/api/auth/me").status_code == 403  # around the proxy: refused too
        assert client.get("/api/auth/config").json()["mode"] == "proxy"


def test_proxy_headers_from_loopback_are_believed_and_no_user_is_anonymous(proxy_app):
    with ServerThread(proxy_app) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        alice = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "finance, staff,,"}
        assert client.get("/api/auth/me", headers=alice).json() == {
            "authenticated": True,
            "user": "alice",
            "display_name": "alice",
            "groups": ["finance", "staff"],
            "is_admin": False,
        }
        assert client.post("/api/search", json={"query": "x"}, headers=alice).status_code == 200
        anonymous = client.get("/api/auth/me").json()
        assert anonymous["authenticated"] is False and anonymous["user"] is None and anonymous["groups"] == []
        assert client.post("/api/search", json={"query": "x"}).status_code == 200
        assert client.get("/api/ingest/jobs", headers=alice).status_code == 403
        admin = {"X-Forwarded-User": "olga", "X-Forwarded-Groups": "rag-admins"}
        assert client.get("/api/ingest/jobs", headers=admin).status_code == 200
        twice = client.get("/api/auth/me", headers=[("X-Forwarded-User", "a"), ("X-Forwarded-User", "b")])
        assert twice.status_code == 400


def test_a_proxy_outside_auth_proxy_trusted_is_refused_over_http(tmp_path):
    app = create_app(_settings(tmp_path, auth_mode="proxy", auth_proxy_trusted="10.0.0.0/8"))
    with ServerThread(app) as server:
        response = httpx.get(server.url + "/api/auth/me", headers={"X-Forwarded-User": "alice"})
        assert response.status_code == 403
        # ADMIN_TOKEN too: in proxy mode only AUTH_PROXY_TRUSTED addresses reach the API at all.
        admin = httpx.get(server.url + "/api/ingest/jobs", headers=bearer(ADMIN))
        assert admin.status_code == 403 and "AUTH_PROXY_TRUSTED" in admin.json()["detail"]


def test_only_operators_learn_the_total_chunk_count(tmp_path):
    with TestClient(create_app(_settings(tmp_path, demo_content=True))) as client:
        anonymous = client.get("/api/ready")
        assert anonymous.status_code == 200 and anonymous.json()["chunks"] is None
        assert client.get("/api/ready", headers=bearer("wrong")).json()["chunks"] is None
        assert client.get("/api/ready", headers=bearer(ADMIN)).json()["chunks"] > 0


# --- none mode -----------------------------------------------------------------------------------


def test_without_sign_in_everyone_is_anonymous_and_only_the_admin_token_controls_ingestion(tmp_path):
    with TestClient(create_app(_settings(tmp_path))) as client:
        assert client.get("/api/auth/config").json() == {
            "mode": "none",
            "issuer": "",
            "client_id": "",
            "scopes": "",
            "audience": "",
            "history": False,  # nobody is identified: the page keeps conversations in the browser
        }
        me = client.get("/api/auth/me", headers={"X-Forwarded-User": "ceo", "X-Forwarded-Groups": "rag-admins"})
        assert me.json()["authenticated"] is False and me.json()["is_admin"] is False
        assert client.get("/api/ingest/jobs", headers={"X-Forwarded-Groups": "rag-admins"}).status_code == 401
        assert client.get("/api/ingest/jobs", headers={"Authorization": ADMIN}).status_code == 401
        assert client.get("/api/ingest/jobs", headers=bearer(ADMIN)).status_code == 200
