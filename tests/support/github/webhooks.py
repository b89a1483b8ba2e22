"""Webhook deliveries as GitHub sends them, built from the payloads GitHub publishes
(``@octokit/webhooks-examples``): a test picks an event and action, adjusts the
repository, label, comment and sender, and gets the signed request's headers and body."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.support.github.answers import overlay
from tests.support.github.fixtures import package_file

Payload = dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    event: str
    id: str  # X-GitHub-Delivery
    headers: dict[str, str]
    body: bytes
    payload: Payload


@cache
def _examples() -> dict[str, list[Payload]]:
    path = package_file("@octokit/webhooks-examples", "api.github.com/index.json")
    return {event["name"]: event["examples"] for event in json.loads(path.read_bytes())}


def example_payload(
    event: str, action: str | None = None, where: Callable[[Payload], bool] | None = None
) -> Payload:
    """A copy of the first published example of ``event`` with ``action`` (and ``where``)."""
    for payload in _examples()[event]:
        if payload.get("action") == action and (where is None or where(payload)):
            return copy.deepcopy(payload)
    raise LookupError(f"@octokit/webhooks-examples has no {event} example with action {action}")


def adjust(
    payload: Payload,
    *,
    repository: str | None = None,
    label: str | None = None,
    comment: str | None = None,
    sender: tuple[str, int] | None = None,
    more: Payload | None = None,
) -> Payload:
    """``payload`` about another repository, label, comment (or review) body or sender
    (login, id); ``more`` is laid over the rest (e.g. ``{"pull_request": {"merged": True}}``)."""
    if repository is not None:
        owner, name = repository.split("/")
        where = f"https://github.com/{repository}"
        overlay(payload["repository"], {
            "full_name": repository, "name": name, "owner": {"login": owner},
            "html_url": where, "clone_url": f"{where}.git",
            "url": f"https://api.github.com/repos/{repository}",
        })  # fmt: skip
    if label is not None:
        payload["label"]["name"] = label
        labels = payload.get("issue", payload.get("pull_request", {})).get("labels")
        if labels is not None:
            labels.append(dict(payload["label"]))
    if comment is not None:
        payload["comment" if "comment" in payload else "review"]["body"] = comment
    if sender is not None:
        login, id = sender
        kind = "Bot" if login.endswith("[bot]") else "User"
        overlay(payload["sender"], {"login": login, "id": id, "type": kind})
    return overlay(payload, more or {})


def sign(event: str, payload: Payload, secret: str) -> Delivery:
    """The request GitHub sends for ``payload``, signed with ``secret``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery = str(uuid.uuid4())
    repository = payload.get("repository") or {}
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/8f1c2a4",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "424242",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": str(repository.get("id", "")),
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    return Delivery(event, delivery, headers, body, payload)


def webhook(event: str, action: str | None, secret: str, **changes: Any) -> Delivery:
    """A signed delivery of the published ``event``/``action`` example, adjusted by
    :func:`adjust`'s keywords."""
    return sign(event, adjust(example_payload(event, action), **changes), secret)
