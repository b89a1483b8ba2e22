"""Webhooks from outside: ``POST /webhooks/github``.

No API token: GitHub cannot send one. The delivery is authenticated by its signature
(see :mod:`taskyard.services.github_receiver`), stored once, and handed to the engine,
which does the work; the answer goes out at once, well within GitHub's 10 s.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from taskyard.api.deps import EngineDep, SettingsDep
from taskyard.api.openapi import errors
from taskyard.api.outputs import ErrorOut
from taskyard.db.session import session_scope
from taskyard.model.github import SOURCE, GitHubEvent
from taskyard.services import github_receiver, webhooks
from taskyard.services.webhooks import Stored

router = APIRouter(tags=["webhooks"])
# Described as the route's security scheme: GitHub authenticates by signing, not by a token.
signature = APIKeyHeader(
    name="X-Hub-Signature-256",
    scheme_name="githubSignature",
    description="`sha256=` and the HMAC-SHA256 of the body with "
    "`TASKYARD_GITHUB_WEBHOOK_SECRET`, as GitHub signs its webhook deliveries.",
    auto_error=False,
)


class WebhookOut(BaseModel):
    delivery: str
    outcome: str


def _store(url: str, event: GitHubEvent, outcome: str) -> Stored:
    with session_scope(url) as session:
        return webhooks.receive(session, SOURCE, event, outcome=outcome)


@router.post(
    "/webhooks/github",
    response_model=WebhookOut,
    status_code=202,
    responses={
        200: {"model": WebhookOut, "description": "Received before, or nothing to do."},
        401: {
            "model": ErrorOut,
            "description": "No webhook secret is configured, or the signature is missing "
            "or does not match it.",
        },
        **errors(503),
    },
)
async def github_webhook(
    request: Request,
    response: Response,
    settings: SettingsDep,
    engine: EngineDep,
    signed: Annotated[str | None, Depends(signature)],
) -> WebhookOut:
    """Receive a GitHub webhook delivery (signed with `TASKYARD_GITHUB_WEBHOOK_SECRET`).

    202: stored, and the engine handles it. 200: a redelivery (handled once), a ping,
    or an event taskyard does not act on (stored with that outcome).
    """
    body = await request.body()
    github_receiver.verify(settings.github_webhook_secret, body, signed or "")
    event = github_receiver.parse(body, request.headers)
    ignored = github_receiver.ignored(event)
    if not ignored:
        engine.check()  # 503 before anything is stored, while the engine is not connected
    url = settings.resolved_database_url
    stored = await asyncio.to_thread(_store, url, event, ignored)
    if not stored.handled:
        # Also for a redelivery not yet handled: its first start may have failed (Temporal
        # was unreachable); Temporal refuses a second start of the same delivery. A
        # delivery stored but never started is also started when a worker starts.
        await engine.engine.handle_delivery(event.delivery_id)
    if stored.new and not stored.handled:
        return WebhookOut(delivery=event.delivery_id, outcome="Accepted: the engine handles it.")
    response.status_code = 200
    outcome = stored.outcome if stored.new else f"Already received. {stored.outcome}".strip()
    return WebhookOut(delivery=event.delivery_id, outcome=outcome)
