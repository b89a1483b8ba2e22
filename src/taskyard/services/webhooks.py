"""Inbound webhook deliveries: stored once, then handled once.

A delivery's id is unique per source (``uq_webhook_deliveries_source_id``): a
redelivery, or the same event reaching two servers at once, finds the row the first
stored and creates nothing. The row keeps what was sent and, once handled, the
outcome (a short sentence a person reads when asking why nothing happened).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskyard.db.models import WebhookDelivery, utcnow
from taskyard.model.errors import NotFound
from taskyard.model.github import GitHubEvent

OUTCOME_LIMIT = 500  # the column's size
PROGRESS = "Acted for organizations: "  # the outcome while the handling is under way
RESUME_WINDOW = dt.timedelta(days=3)  # older news is no longer worth acting on


class Delivery(Protocol):
    """What any source's delivery has: GitHub's events, intake deliveries."""

    @property
    def delivery_id(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Stored:
    new: bool  # False: this delivery had been received before
    handled: bool
    outcome: str


def receive(
    session: Session,
    source: str,
    event: Delivery,
    *,
    outcome: str = "",
) -> Stored:
    """Store ``event`` unless its delivery id is known; commits.

    ``outcome``: set when the delivery needs no handling (a ping, an event taskyard
    does not act on): it is stored handled.
    """
    row = WebhookDelivery(
        source=source,
        delivery_id=event.delivery_id,
        event=event.event,
        action=event.action,
        payload=dict(event.payload),
        outcome=outcome[:OUTCOME_LIMIT],
        handled_at=utcnow() if outcome else None,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Another request stored it first (or just now): that one is the delivery.
        session.rollback()
        known = _row(session, source, event.delivery_id)
        return Stored(new=False, handled=known.handled_at is not None, outcome=known.outcome)
    return Stored(new=True, handled=bool(outcome), outcome=row.outcome)


def _row(session: Session, source: str, delivery_id: str) -> WebhookDelivery:
    row = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.source == source, WebhookDelivery.delivery_id == delivery_id
        )
    )
    if row is None:
        raise NotFound(f"No {source} delivery {delivery_id} was received.")
    return row


def load(session: Session, source: str, delivery_id: str) -> tuple[GitHubEvent, str | None]:
    """The stored delivery, and its outcome when it was handled already."""
    row = _row(session, source, delivery_id)
    payload: dict[str, Any] = row.payload
    event = GitHubEvent(row.delivery_id, row.event, row.action, payload)
    return event, (row.outcome if row.handled_at is not None else None)


def unhandled(session: Session, source: str, limit: int = 1000) -> list[str]:
    """Ids of deliveries stored in the last :data:`RESUME_WINDOW` but never handled:
    the server stopped between storing one and handing it to the engine."""
    since = utcnow() - RESUME_WINDOW
    query = (
        select(WebhookDelivery.delivery_id)
        .where(
            WebhookDelivery.source == source,
            WebhookDelivery.handled_at.is_(None),
            WebhookDelivery.received_at >= since,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def orgs_done(session: Session, source: str, delivery_id: str) -> set[int]:
    """The organizations a delivery being handled has already acted for (see :func:`done_for`)."""
    row = _row(session, source, delivery_id)
    if row.handled_at is not None or not row.outcome.startswith(PROGRESS):
        return set()
    return {int(part) for part in row.outcome.removeprefix(PROGRESS).split()}


def done_for(session: Session, source: str, delivery_id: str, org_id: int) -> None:
    """Note, in the transaction that acts for ``org_id`` (makes its task, or messages its
    open one), that it did: a retry of the handling does not act twice."""
    row = _row(session, source, delivery_id)
    done = orgs_done(session, source, delivery_id) | {org_id}
    row.outcome = (PROGRESS + " ".join(str(org) for org in sorted(done)))[:OUTCOME_LIMIT]


def note(session: Session, source: str, delivery_id: str, outcome: str) -> None:
    """Record what came of the delivery (in the caller's transaction)."""
    row = _row(session, source, delivery_id)
    row.outcome = outcome[:OUTCOME_LIMIT]
    row.handled_at = utcnow()


def refused(session: Session, source: str, delivery_id: str, outcome: str) -> None:
    """Record why a stored delivery made nothing (a mapped team the organization lacks),
    leaving it unhandled: sent again once that is fixed, it is handled then."""
    row = _row(session, source, delivery_id)
    row.outcome = outcome[:OUTCOME_LIMIT]
