"""The Authorization header's strict form and the proxy's trusted addresses (no server needed)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from confluence_rag.auth.authenticator import Authenticator, bearer_token
from confluence_rag.auth.errors import AuthError
from confluence_rag.auth.identity import ANONYMOUS
from confluence_rag.settings import Settings


@pytest.mark.parametrize(("header", "token"), [(None, None), ("Bearer abc.def", "abc.def"), ("bearer  x ", "x")])
def test_bearer_token_accepts_only_bearer_and_one_token(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["abc.def", "Basic dXNlcjpwdw==", "Bearer", "Bearer ", "Bearer a b", "Token x"])
def test_anything_but_bearer_and_a_token_is_a_401(header):
    with pytest.raises(AuthError) as caught:
        bearer_token(header)
    assert caught.value.status == 401 and "invalid_request" in caught.value.headers["WWW-Authenticate"]


def _proxy(trusted: str) -> Authenticator:
    return Authenticator(Settings(_env_file=None, auth_mode="proxy", auth_proxy_trusted=trusted, admin_groups="ops"))


@pytest.mark.parametrize(
    ("trusted", "peer", "believed"),
    [
        ("127.0.0.0/8,::1", "127.0.0.1", True),
        ("127.0.0.0/8,::1", "127.8.9.10", True),
        ("127.0.0.0/8,::1", "::1", True),
        ("127.0.0.0/8,::1", "10.0.0.5", False),
        ("127.0.0.0/8,::1", "testclient", False),
        ("127.0.0.0/8,::1", None, False),
        ("172.28.0.0/16", "172.28.3.4", True),
        ("172.28.0.0/16", "127.0.0.1", False),
    ],
)
def test_proxy_headers_are_believed_only_from_trusted_peers(trusted, peer, believed):
    proxy = _proxy(trusted)
    headers = Headers({"X-Forwarded-User": "alice", "X-Forwarded-Groups": "ops, finance"})
    if believed:
        identity = proxy.identify(headers, peer)
        assert identity.user == "alice" and identity.groups == {"ops", "finance"} and identity.is_admin
        assert proxy.identify(Headers({}), peer) == ANONYMOUS
    else:
        with pytest.raises(AuthError) as caught:
            proxy.identify(headers, peer)
        assert caught.value.status == 403


def test_custom_header_names_are_used():
    settings = Settings(
        _env_file=None, auth_mode="proxy", auth_proxy_user_header="X-Remote-User", auth_proxy_groups_header="X-Groups"
    )
    identity = Authenticator(settings).identify(
        Headers({"X-Remote-User": "bob", "X-Groups": "staff", "X-Forwarded-User": "ceo"}), "127.0.0.1"
    )
    assert identity.user == "bob" and identity.groups == {"staff"}
