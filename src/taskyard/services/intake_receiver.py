"""What ``POST /webhooks/intake/{slug}`` checks before anything is stored.

Fail closed: a delivery is refused (401) before its body is read as JSON unless it
proves it knows the source's secret:

- ``sentry``: ``Sentry-Hook-Signature``, the hex HMAC-SHA256 of the exact body with
  the integration's client secret (how Sentry signs);
- ``support`` and ``webhook``: ``Authorization: Bearer <secret>``, or
  ``X-Taskyard-Signature: sha256=<hex HMAC-SHA256 of the body>`` for senders that sign.

Compared in constant time. Then the body must be a JSON object within the usual
bounds, and the delivery gets its id: Sentry's ``Request-ID``, else ``Webhook-Id``,
``Idempotency-Key`` or ``X-Request-Id``, else the body's hash (the same body sent
twice is one delivery).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskyard.model.errors import InvalidInput, Unauthenticated
from taskyard.model.inputs import load_object

DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
RESOURCE = re.compile(r"[a-z_]{1,60}")
ID_HEADERS = ("request-id", "webhook-id", "idempotency-key", "x-request-id")
SIGNATURE = "x-taskyard-signature"


@dataclass(frozen=True)
class Inbound:
    """A verified delivery, as :mod:`taskyard.services.webhooks` stores it."""

    delivery_id: str
    event: str  # Sentry's resource (event_alert, issue...); the source's kind otherwise
    action: str
    payload: Mapping[str, Any]


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def verify(kind: str, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Refuse (401, saying what to send) unless the request proves it knows ``secret``."""
    if kind == "sentry":
        given = headers.get("sentry-hook-signature", "")
        if not given:
            raise Unauthenticated(
                "The Sentry-Hook-Signature header is missing: send deliveries from the Sentry "
                "integration whose client secret this source holds."
            )
        if not _same(_hmac(secret, body), given):
            raise Unauthenticated(
                "The Sentry-Hook-Signature does not match: the integration's client secret "
                "differs from this source's."
            )
        return
    scheme, _, token = headers.get("authorization", "").partition(" ")
    signed = headers.get(SIGNATURE, "")
    if scheme.lower() == "bearer" and token:
        if not _same(secret, token):
            raise Unauthenticated("The bearer secret is not this source's.")
        return
    if signed:
        if not _same("sha256=" + _hmac(secret, body), signed):
            raise Unauthenticated(
                "The X-Taskyard-Signature does not match: sign the exact body with the "
                "source's secret (sha256=<hex HMAC-SHA256>)."
            )
        return
    raise Unauthenticated(
        "Send the source's secret as 'Authorization: Bearer <secret>', or sign the body: "
        "'X-Taskyard-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>'."
    )


def parse(kind: str, body: bytes, headers: Mapping[str, str]) -> Inbound:
    """The delivery a verified request carries; 400 naming what is wrong."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidInput(
            f"Deliveries must be JSON (Content-Type: application/json), not '{content_type[:100]}'."
        )
    payload = load_object(body, "The delivery's body")
    event, action = kind, ""
    if kind == "sentry":
        event = headers.get("sentry-hook-resource", "")
        if not RESOURCE.fullmatch(event):
            raise InvalidInput("The Sentry-Hook-Resource header is missing or not a resource.")
        given = payload.get("action", "")
        action = given[:60] if isinstance(given, str) else ""
    return Inbound(_delivery_id(body, headers), event, action, payload)


def _delivery_id(body: bytes, headers: Mapping[str, str]) -> str:
    for name in ID_HEADERS:
        given = headers.get(name, "").strip()
        if given:
            if not DELIVERY_ID.fullmatch(given):
                raise InvalidInput(
                    f"The {name} header is not a delivery id (1 to 100 letters, digits, "
                    "'.', '_', ':' or '-')."
                )
            return given
    return "sha256:" + hashlib.sha256(body).hexdigest()
