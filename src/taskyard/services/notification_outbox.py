"""The engine's side of the notification outbox: claim what is due, settle how it went.

A claim is a lease (``claimed_until``) taken by a compare-and-set UPDATE that one
worker's transaction alone can win, as for tracking comments: a worker that dies
holding one leaves it to lapse, and the row is due again. A delivery is settled
``sent``, owed again later (``next_attempt_at``, backing off exponentially with jitter),
or ``failed`` for good: refused (410 Gone, a bad configuration) or still failing a day
after its event. Failures show on the task as ``notification`` events: the first one,
and the last (given up, or sent at last); never with the channel's secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from taskyard.config import Settings
from taskyard.db.models import NotificationChannel, NotificationDelivery, utcnow
from taskyard.db.session import session_scope
from taskyard.model.errors import TaskyardError
from taskyard.notify.base import Notice
from taskyard.services import events, secrets

GIVE_UP_AFTER = dt.timedelta(days=1)
MAX_DELAY = 3600.0  # seconds: retries at least hourly near the end of the day
ERROR_LIMIT = 500
PER_CHANNEL = 20  # sends a channel has in flight (all workers), about at most


@dataclass(frozen=True)
class Due:
    """A claimed delivery, ready for its channel."""

    id: int
    kind: str
    channel: str  # the channel's name, for the task's events
    notice: Notice
    target: dict[str, str]
    previous: str
    unusable: str  # why it cannot be sent at all (channel off, config unreadable), if so


_EARLIER = aliased(NotificationDelivery)
# One thread's deliveries go one at a time, in order: each is sent knowing what the
# one before it returned (Slack's message to edit), and none overtakes an older one.
_IN_TURN = or_(
    NotificationDelivery.thread == "",
    ~exists().where(
        _EARLIER.thread == NotificationDelivery.thread,
        _EARLIER.id < NotificationDelivery.id,
        _EARLIER.status == "pending",
    ),
)


def _due(now: dt.datetime) -> list[object]:
    free = or_(
        NotificationDelivery.claimed_until.is_(None), NotificationDelivery.claimed_until <= now
    )
    return [
        NotificationDelivery.status == "pending",
        NotificationDelivery.next_attempt_at <= now,
        free,
    ]


def claim_due(settings: Settings, limit: int, lease: dt.timedelta) -> list[Due]:
    """Claim up to ``limit`` deliveries that are due, oldest first."""
    url, now = settings.resolved_database_url, utcnow()
    # A channel whose receiver hangs holds at most PER_CHANNEL sends (on all workers
    # together): the others' deliveries never wait behind it for a free slot.
    busy = (
        select(NotificationDelivery.channel_id)
        .where(NotificationDelivery.status == "pending", NotificationDelivery.claimed_until > now)
        .group_by(NotificationDelivery.channel_id)
        .having(func.count() >= PER_CHANNEL)
    )
    with session_scope(url, write=False) as session:  # idle polls take no write lock
        rows = session.execute(
            select(NotificationDelivery.id, NotificationDelivery.channel_id)
            .where(*_due(now), _IN_TURN, NotificationDelivery.channel_id.not_in(busy))  # type: ignore[arg-type]
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(limit)
        ).all()
    per_channel: Counter[int] = Counter()
    candidates = []
    for delivery_id, channel_id in rows:
        per_channel[channel_id] += 1
        if per_channel[channel_id] <= PER_CHANNEL:
            candidates.append(delivery_id)
    if not candidates:
        return []
    claimed: list[Due] = []
    with session_scope(url) as session:
        for delivery_id in sorted(candidates):
            won = session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.id == delivery_id, *_due(now))  # type: ignore[arg-type]
                .values(claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(_prepared(session, settings, delivery_id))
    return claimed


def _prepared(session: Session, settings: Settings, delivery_id: int) -> Due:
    row = session.get(NotificationDelivery, delivery_id)
    assert row is not None  # claimed in this transaction
    channel = session.get(NotificationChannel, row.channel_id)
    assert channel is not None  # deliveries go with their channel
    target: dict[str, str] = {}
    unusable = "" if channel.enabled else "The channel was turned off."
    try:
        target = json.loads(
            secrets.unseal(
                settings,
                channel.config_ciphertext,
                channel.name,
                f"PATCH /api/v1/notifications/channels/{channel.id}",
            )
        )
    except TaskyardError as exc:
        unusable = exc.message
    previous = ""
    if row.thread:
        previous = (
            session.scalar(
                select(NotificationDelivery.reference)
                .where(
                    NotificationDelivery.thread == row.thread, NotificationDelivery.reference != ""
                )
                .order_by(NotificationDelivery.id.desc())
                .limit(1)
            )
            or ""
        )
    public = settings.public_url.rstrip("/")
    url = f"{public}{row.url}" if row.url and public else row.url
    payload = dict(row.payload)
    if url and isinstance(payload.get("data"), dict) and "task" in payload["data"]:
        payload["data"] = {**payload["data"], "task": {**payload["data"]["task"], "url": url}}
    notice = Notice(
        id=row.notice_id,
        event=row.event,
        subject=row.subject,
        text=row.text,
        url=url,
        task_key=row.task_key,
        status=row.task_status,
        occurred_at=row.occurred_at,
        data=payload,
        thread=row.thread,
    )
    return Due(row.id, channel.kind, channel.name, notice, target, previous, unusable)


def sent(settings: Settings, due: Due, reference: str, status_code: int | None) -> None:
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(NotificationDelivery, due.id)
        if row is None:
            return
        failed_before = bool(row.last_error)
        row.status, row.sent_at, row.claimed_until = "sent", utcnow(), None
        row.attempts += 1
        row.reference = reference[:200]
        row.last_status_code = status_code
        if failed_before:
            _tell_task(session, row, due, f"Sent after {row.attempts} attempts.")


def failed(settings: Settings, due: Due, error: str, status_code: int | None, retry: bool) -> None:
    """Record a failed attempt: owed again after a backoff, or failed for good."""
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(NotificationDelivery, due.id)
        if row is None:
            return
        first = row.attempts == 0
        row.attempts += 1
        row.last_error, row.last_status_code = error[:ERROR_LIMIT], status_code
        row.claimed_until = None
        delay = backoff(settings.notify_retry_base_seconds, row.attempts)
        next_at = utcnow() + dt.timedelta(seconds=delay)
        if retry and next_at - row.created_at <= GIVE_UP_AFTER:
            row.next_attempt_at = next_at
            if first:
                _tell_task(session, row, due, f"Failed, trying again: {row.last_error}")
            return
        row.status, row.next_attempt_at = "failed", None
        said = "Gave up" if retry else "Failed for good"
        _tell_task(session, row, due, f"{said} after {row.attempts} attempts: {row.last_error}")


def backoff(base: float, attempts: int) -> float:
    """Seconds before the next attempt: doubling per attempt, jittered by ±50%."""
    delay = min(base * 2.0 ** (attempts - 1), MAX_DELAY)
    return delay * random.uniform(0.5, 1.5)


def replay(session: Session, row: NotificationDelivery) -> None:
    """Owe ``row`` again at once, whatever became of it (same notice id)."""
    row.status, row.next_attempt_at, row.claimed_until = "pending", utcnow(), None
    row.created_at = utcnow()  # a fresh day of retries


def _tell_task(session: Session, row: NotificationDelivery, due: Due, message: str) -> None:
    if row.task_id is None:
        return
    data = {
        "delivery": row.id,
        "event": row.event,
        "channel": due.channel,
        "kind": due.kind,
        "status": row.status,
        "status_code": row.last_status_code,
        "message": message,
    }
    events.append(session, row.task_id, "notification", data)
