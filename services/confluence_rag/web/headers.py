"""Security headers on every response the product serves itself (`make run`; nginx sets the same).

The Content-Security-Policy allows only the product's own origin: no CDN, no inline script. Inline
styles are allowed: Angular adds its components' styles as <style> elements at run time (a nonce would
need a server-rendered index.html; nginx serves it as a file). The Angular build inlines no critical
CSS (angular.json), so its index.html has no inline code. Pages that carry an inline script (the API
explorer) allow exactly that script by its hash (`policy_for`); the middleware keeps a policy a
route has already set. deploy/nginx/nginx.conf.template sends the same policy.

With AUTH_MODE=oidc the browser calls the identity provider itself (discovery, token endpoint), so
`connect-src` also names the issuer's origin (`browser_connect_src`; nginx: CSP_CONNECT_SRC).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confluence_rag.settings import Settings


def content_security_policy(connect_src: str = "'self'") -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"font-src 'self'; connect-src {connect_src}; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def browser_connect_src(settings: Settings) -> str:
    """`connect-src` for the chat page: the product itself, plus the identity provider in oidc mode."""
    if settings.auth_mode == "oidc" and settings.oidc_issuer:
        issuer = urlsplit(settings.oidc_issuer)
        return f"'self' {issuer.scheme}://{issuer.netloc}"
    return "'self'"


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def policy_for(html: str) -> str:
    """The policy, with the hash of each inline <script> block of `html` allowed."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    if not hashes:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {' '.join(hashes)}")


class SecurityHeaders:
    """Pure ASGI middleware (streams pass through untouched): adds each header a response lacks."""

    def __init__(self, app: ASGIApp, connect_src: str = "'self'"):
        self.app = app
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(connect_src)}
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, connect_src: str = "'self'") -> None:
    app.add_middleware(SecurityHeaders, connect_src=connect_src)
