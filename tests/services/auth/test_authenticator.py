"""The Authorization header's strict form and the proxy's trusted addresses (no server needed)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from confluence_rag.auth.authenticator import Authenticator, bearer_token
from confluence_rag.auth.errors import AuthError
from confluence_rag.auth.identity import ANONYMOUS
from confluence_rag.settings import Settings


def _authorization(*values: str) -> Headers:
    return Headers(raw=[(b"authorization", v.encode()) for v in values])


@pytest.mark.parametrize(
    ("headers", "token"),
    [((), None), (("Bearer abc.def",), "abc.def"), (("bearer x",), "x"), (("BEARER a-b_c~d+e/f==",), "a-b_c~d+e/f==")],
)
def test_bearer_token_accepts_only_bearer_and_one_token(headers, token):
    assert bearer_token(_authorization(*headers)) == token


@pytest.mark.parametrize(
    "header",
    [
        "abc.def",
        "Basic dXNlcjpwdw==",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Token x",
        # RFC 6750 §2.1, as docs/security.md says: one space, a b64token, nothing else.
        "bearer  x ",
        "Bearer\tx",
        "Bearer x,y",
        "Bearer =x",
        'Bearer x"',
    ],
)
def test_anything_but_bearer_and_a_token_is_a_401(header):
    with pytest.raises(AuthError) as caught:
        bearer_token(_authorization(header))
    assert caught.value.status == 401 and "invalid_request" in caught.value.headers["WWW-Authenticate"]


def test_two_authorization_headers_are_a_401_never_the_first_wins():
    with pytest.raises(AuthError) as caught:
        bearer_token(_authorization("Bearer good", "Bearer other"))
    assert caught.value.status == 401 and "one Authorization header" in caught.value.message


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


@pytest.mark.parametrize(("cloud", "user"), [(False, "carol"), (True, "Carol")])
def test_server_dc_usernames_are_lower_cased_and_cloud_account_ids_kept(cloud, user):
    settings = Settings(_env_file=None, auth_mode="proxy", confluence_cloud=cloud)
    identity = Authenticator(settings).identify(Headers({"X-Forwarded-User": "Carol"}), "::1")
    assert identity.user == user and identity.display_name == "Carol"


@pytest.mark.parametrize(
    ("mode", "peer", "accepted"),
    [
        ("proxy", "127.0.0.1", True),
        ("proxy", "10.0.0.5", False),  # outside AUTH_PROXY_TRUSTED: refused like every request from there
        ("proxy", None, False),
        ("oidc", "10.0.0.5", True),  # the token is the credential
        ("none", "10.0.0.5", True),
    ],
)
def test_the_admin_token_counts_in_proxy_mode_only_from_trusted_addresses(mode, peer, accepted):
    settings = Settings(
        _env_file=None, auth_mode=mode, oidc_issuer="https://idp.invalid", oidc_client_id="c", admin_token="s3cret"
    )
    authenticator = Authenticator(settings)
    assert authenticator.is_admin_token(_authorization("Bearer s3cret"), peer) is accepted
    assert authenticator.is_admin_token(_authorization("Bearer wrong"), "127.0.0.1") is False
    assert authenticator.is_admin_token(_authorization("Bearer s3cret", "Bearer s3cret"), "127.0.0.1") is False
