"""The chat page's Content-Security-Policy names the identity provider only in oidc mode."""

from __future__ import annotations

from confluence_rag.settings import Settings
from confluence_rag.web.headers import browser_connect_src, content_security_policy


def test_connect_src_adds_the_issuer_origin_in_oidc_mode_only() -> None:
    issuer = "https://login.example.com:8443/realms/acme"
    oidc = Settings(_env_file=None, auth_mode="oidc", oidc_issuer=issuer, oidc_client_id="chat")
    assert browser_connect_src(oidc) == "'self' https://login.example.com:8443"
    assert "connect-src 'self' https://login.example.com:8443;" in content_security_policy(browser_connect_src(oidc))
    for mode in ("none", "proxy"):
        assert browser_connect_src(Settings(_env_file=None, auth_mode=mode, oidc_issuer=issuer)) == "'self'"
