"""Outgoing webhooks, signed as Standard Webhooks (https://www.standardwebhooks.com).

The body is the notice's JSON payload. Three headers let the receiver verify it:
``webhook-id`` (the notice id, the same on every retry so the receiver can dedupe),
``webhook-timestamp`` (seconds) and ``webhook-signature`` (``v1,`` and the base64
HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed by the secret's bytes: a secret is
``whsec_`` and base64). A 2xx is delivered; 410 Gone means the receiver wants no more
(not retried); anything else, a redirect included (never followed), or no answer within
the timeout, is retried. The URL must be allowed by TASKYARD_OUTBOUND_ALLOWED_HOSTS at
each send (see ``outbound.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import ClassVar

import httpx

from taskyard.config import Settings, get_settings
from taskyard.notify.base import ChannelError, Notice, Sent
from taskyard.notify.outbound import pinned

SECRET_PREFIX = "whsec_"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # a receiver that hangs must not hold a sender long


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ``ValueError`` if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("A webhook secret starts with 'whsec_' followed by base64.")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("A webhook secret starts with 'whsec_' followed by base64.") from exc
    if len(key) < 16:
        raise ValueError("A webhook secret must hold at least 16 bytes.")
    return key


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header for ``body``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_of(notice: Notice) -> bytes:
    return json.dumps(dict(notice.data), separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    kind: ClassVar[str] = "webhook"

    def __init__(self, timeout: httpx.Timeout = TIMEOUT, settings: Settings | None = None) -> None:
        self._timeout = timeout
        self._settings = settings

    async def send(self, notice: Notice, target: Mapping[str, str], previous: str) -> Sent:
        body = body_of(notice)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "taskyard-webhooks",
            "webhook-id": notice.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(target["secret"], notice.id, timestamp, body),
        }
        allowed = (self._settings or get_settings()).allowed_hosts
        transport = await pinned(target["url"], allowed)  # checked again: DNS may have changed
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout, transport=transport, follow_redirects=False
            ) as client:
                response = await client.post(target["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}"[:500], retry=True) from exc
        code = response.status_code
        if 200 <= code < 300:
            return Sent(status_code=code)
        if code == 410:
            raise ChannelError("The receiver answered 410 Gone.", retry=False, status_code=code)
        raise ChannelError(f"The receiver answered {code}.", retry=True, status_code=code)
