"""Confluence Data Center webhooks as a change signal: `POST /webhooks/confluence` on the worker.

An administrator registers a webhook (Administration → Webhooks, or `POST /rest/api/webhooks`)
with the events of CONFLUENCE_WEBHOOK_EVENTS, this URL and CONFLUENCE_WEBHOOK_SECRET as its secret;
Confluence then signs each body: `X-Hub-Signature: sha256=<HMAC-SHA256 hex>` (accepted with or
without the `sha256=` prefix: the exact form is not confirmed). Payloads are thin (ids only), so
an accepted event starts a permission pass of its space when the payload names one, else of every
space (access_watch.py). Delivery is best effort: the scheduled pass stays the guarantee. Cloud
has no webhooks for API-token integrations. Steps: docs/permissions.md "Revocations".
"""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from confluence_rag.settings import Settings
from confluence_rag.web.errors import error_responses
from confluence_rag.worker.access_watch import AccessWatch

SIGNATURE_HEADER = "X-Hub-Signature"


class WebhookAck(BaseModel):
    accepted: bool = Field(description="true: the event starts a permission pass; false: not an access event")


def _signed(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.strip().removeprefix("sha256=")
    return hmac.compare_digest(given.encode(), expected.encode())


def _space_of(payload: dict) -> set[str] | None:
    """The space key a payload names (Cloud-style `page.spaceKey`, `space.key`), else None (all)."""
    for holder in ("page", "blog", "blogpost", "content", "comment", "attachment", "space"):
        item = payload.get(holder)
        if isinstance(item, dict):
            key = item.get("spaceKey") or (item.get("key") if holder == "space" else None)
            if isinstance(key, str) and key:
                return {key}
    return None


def webhooks_router(settings: Settings, watch: AccessWatch) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/webhooks/confluence",
        status_code=202,
        summary="Confluence Data Center webhook (signed with CONFLUENCE_WEBHOOK_SECRET)",
        response_model=WebhookAck,
        responses=error_responses(400, 401, 403),
    )
    async def confluence_webhook(request: Request) -> WebhookAck:
        secret = settings.confluence_webhook_secret.get_secret_value()
        if not secret:
            raise HTTPException(403, "Webhooks are off: set CONFLUENCE_WEBHOOK_SECRET.")
        body = await request.body()
        if not _signed(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise HTTPException(401, f"Missing or wrong {SIGNATURE_HEADER} signature.")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise HTTPException(400, "The body is not JSON.") from exc
        if not isinstance(payload, dict):
            raise HTTPException(400, "The body is not a JSON object.")
        event = payload.get("event")
        if not isinstance(event, str) or event not in settings.confluence_webhook_events:
            return WebhookAck(accepted=False)
        watch.signal(_space_of(payload), f"webhook {event}")
        return WebhookAck(accepted=True)

    return router
