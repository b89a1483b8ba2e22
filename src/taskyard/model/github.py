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


SOURCE = "github"  # of a webhook delivery (taskyard.db.models.WebhookDelivery.source)
INTAKE = "intake"  # may start a task (services/github_intake.py)
REVIEWS = "reviews"  # about a task's pull request (services/github_reviews.py)
# Which part of taskyard handles each (event, action); anything else is acknowledged
# and ignored without starting the engine.
ROUTES: dict[tuple[str, str], str] = {
    ("issues", "labeled"): INTAKE,
    ("issues", "assigned"): INTAKE,
    ("issue_comment", "created"): INTAKE,
    ("pull_request", "opened"): INTAKE,
    ("pull_request", "synchronize"): INTAKE,
    ("push", ""): INTAKE,
    ("pull_request", "closed"): REVIEWS,
    ("pull_request_review", "submitted"): REVIEWS,
    ("pull_request_review_comment", "created"): REVIEWS,
    ("check_run", "completed"): REVIEWS,
    ("check_suite", "completed"): REVIEWS,
}


def route(event: str, action: str) -> str | None:
    """``INTAKE``, ``REVIEWS``, or None when taskyard does not act on the event."""
    return ROUTES.get((event, action))
