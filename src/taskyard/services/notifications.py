"""Who hears of what: the outbox of notifications, written with the event that causes it.

:func:`notify` is called inside the transaction that records an event (a task's status,
a pull request marked ready, a schedule paused): for each person it names whose
preferences want the event, it adds one :class:`~taskyard.db.models.NotificationDelivery`
per channel of theirs. The rows commit with the event or not at all, so a crash between
the event and the send loses no notification; the engine's loop
(:mod:`taskyard.engine.notifications`) sends them.

Whether a person wants an event: their own preference for it, else their task's team
default, else the quiet default: only what needs them (:data:`QUIET_DEFAULTS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Task,
    iso_utc,
    utcnow,
)
from taskyard.model.inputs import mend_text

EVENTS = (
    "task.created",
    "task.waiting",
    "task.pr_ready",
    "task.completed",
    "task.failed",
    "task.cancelled",
    "task.budget",
    "schedule.paused",
)
#: What a person hears of without asking: what needs them, and what failed.
QUIET_DEFAULTS = frozenset({"task.waiting", "task.pr_ready", "task.failed", "schedule.paused"})
SUBJECT_LIMIT = 300


def wants(session: Session, user_id: int, team_id: int | None, event: str) -> list[str] | None:
    """The channel names ``event`` goes to for the user (``[]``: all of them), or None
    if they do not want it."""
    own = session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user_id, NotificationPreference.event == event
        )
    )
    if own is not None:
        return list(own.channels) if own.enabled else None
    if team_id is not None:
        team = session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.team_id == team_id, NotificationPreference.event == event
            )
        )
        if team is not None:
            return [] if team.enabled else None
    return [] if event in QUIET_DEFAULTS else None


def notify(
    session: Session,
    *,
    org_id: int,
    event: str,
    task: Task | None,
    users: Iterable[int],
    subject: str,
    text: str,
    data: Mapping[str, Any],
) -> None:
    """Owe each of ``users`` who wants ``event`` a notice on each of their channels.

    Written in the caller's transaction; sent by the engine once it commits.
    """
    assert event in EVENTS, event
    now = utcnow()
    subject = mend_text(subject.splitlines()[0] if subject else event)[:SUBJECT_LIMIT]
    text = mend_text(text)[:4000]
    task_data = _task_data(task) if task is not None else {}
    payload = {
        "type": event,
        "timestamp": iso_utc(now),
        "data": {**({"task": task_data} if task_data else {}), **dict(data), "text": text},
    }
    for user_id in dict.fromkeys(users):  # each person once, in the order given
        # Their channels first: most people have none, and this runs at every status change.
        channels = list(
            session.scalars(
                select(NotificationChannel)
                .where(
                    NotificationChannel.user_id == user_id,
                    NotificationChannel.org_id == org_id,
                    NotificationChannel.enabled,
                )
                .order_by(NotificationChannel.id)
            )
        )
        names = wants(session, user_id, task.team_id if task else None, event) if channels else None
        if names is None:
            continue
        for channel in channels:
            if names and channel.name not in names:
                continue
            session.add(
                NotificationDelivery(
                    org_id=org_id,
                    user_id=user_id,
                    channel_id=channel.id,
                    task_id=task.id if task else None,
                    notice_id=f"msg_{uuid.uuid4().hex}",
                    event=event,
                    subject=subject,
                    text=text,
                    url=f"/tasks/{task.key}" if task else "",
                    task_key=task.key if task else "",
                    task_status=task.status if task else "",
                    payload=payload,
                    # One thread per task and channel: Slack edits its message in place.
                    thread=f"{task.uid}:{channel.id}" if task else "",
                    occurred_at=now,
                    next_attempt_at=now,
                )
            )


def _task_data(task: Task) -> dict[str, Any]:
    return {
        "key": task.key,
        "title": task.title,
        "status": task.status,
        "stage": task.stage,
        "message": task.status_message,
        "repository": task.repository,
        "url": f"/tasks/{task.key}",
    }
