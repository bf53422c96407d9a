"""Sign-in failures, with the HTTP status and the message the caller sees (never a token)."""

from __future__ import annotations


class AuthError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def unauthorized(message: str, error: str | None = "invalid_token") -> AuthError:
    """401 with the RFC 6750 challenge; `error` is omitted when no token was sent at all."""
    challenge = 'Bearer realm="confluence-rag"'
    if error:
        challenge += f', error="{error}", error_description="{message}"'
    return AuthError(401, message, {"WWW-Authenticate": challenge})
