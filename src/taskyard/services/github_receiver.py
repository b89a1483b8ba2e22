"""What ``POST /webhooks/github`` checks before anything is stored.

Fail closed: without a configured secret, or without a valid ``X-Hub-Signature-256``
(HMAC-SHA256 of the exact body, compared in constant time), a delivery is refused
before its body is even parsed. Then the headers and the JSON are checked, and the
delivery is stored once (:mod:`taskyard.services.webhooks`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from taskyard.model.errors import InvalidInput, Unauthenticated
from taskyard.model.github import GitHubEvent, route
from taskyard.model.inputs import load_object

DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
EVENT_NAME = re.compile(r"[a-z_]{1,60}")


def verify(secret: str, body: bytes, given: str) -> None:
    """Refuse (401) unless ``given`` (the ``X-Hub-Signature-256`` header) is ``secret``'s
    signature of ``body``."""
    if not secret:
        raise Unauthenticated(
            "GitHub webhooks are refused: no secret is configured. Set "
            "TASKYARD_GITHUB_WEBHOOK_SECRET to the webhook's secret."
        )
    if not given:
        raise Unauthenticated(
            "The X-Hub-Signature-256 header is missing: set the webhook's secret."
        )
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise Unauthenticated(
            "The X-Hub-Signature-256 signature does not match: the webhook's secret differs "
            "from TASKYARD_GITHUB_WEBHOOK_SECRET."
        )


def parse(body: bytes, headers: Mapping[str, str]) -> GitHubEvent:
    """The delivery a verified request carries; 400 naming what is wrong."""
    event = headers.get("x-github-event", "")
    delivery_id = headers.get("x-github-delivery", "")
    if not EVENT_NAME.fullmatch(event):
        raise InvalidInput("The X-GitHub-Event header is missing or not an event name.")
    if not DELIVERY_ID.fullmatch(delivery_id):
        raise InvalidInput("The X-GitHub-Delivery header is missing or not a delivery id.")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidInput(
            f"Deliveries must be JSON, not '{content_type[:100]}': set the webhook's "
            "content type to application/json."
        )
    payload = load_object(body, "The delivery's body")
    action = payload.get("action", "")
    if not isinstance(action, str) or len(action) > 60:
        raise InvalidInput("The delivery's 'action' must be a short string.")
    return GitHubEvent(delivery_id, event, action, payload)


def ignored(event: GitHubEvent) -> str:
    """Why taskyard stores ``event`` without handling it, or "" when it handles it."""
    if event.event == "ping":
        return "Ping: the webhook reaches taskyard."
    if route(event.event, event.action) is None:
        what = f"{event.event} {event.action}".strip()
        return f"Ignored: taskyard does not act on {what}."
    return ""
