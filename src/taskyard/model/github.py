"""A webhook delivery from GitHub, as the engine handles it.

Built from the stored delivery (:class:`taskyard.db.models.WebhookDelivery`): the
payload is what GitHub sent, verified by its signature but written by whoever acted
on GitHub, so every text in it is untrusted (see :mod:`taskyard.model.untrusted`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GitHubEvent:
    delivery_id: str  # X-GitHub-Delivery
    event: str  # X-GitHub-Event: issues, issue_comment, pull_request, push...
    action: str  # the payload's action; "" for events without one (push)
    payload: Mapping[str, Any]

    @property
    def repository(self) -> str:
        """``owner/name`` of the repository the event is about, or ""."""
        repository = self.payload.get("repository")
        name = repository.get("full_name") if isinstance(repository, Mapping) else None
        return name if isinstance(name, str) else ""

    @property
    def sender(self) -> Mapping[str, Any]:
        """Who acted on GitHub (``login``, ``id``, ``type``); empty when absent."""
        sender = self.payload.get("sender")
        return sender if isinstance(sender, Mapping) else {}
