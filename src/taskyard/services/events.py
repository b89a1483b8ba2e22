"""Task events: append-only, read by the API, live streams, notifications and audits.

Writers call :func:`append` (or :func:`append_many`); live readers wait on
:data:`bus`, which wakes them at once for events written in this process; events
written by workers elsewhere wake them through :mod:`taskyard.services.event_watch`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Table, Text, cast, func, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from taskyard.db.models import Event, iso_utc, utcnow
from taskyard.model.inputs import storable

KINDS = frozenset(
    {
        "created",
        "status",
        "stage",
        "agent",
        "output",
        "message",
        "approval",
        "request_changes",
        "delivery",
        "setup",
        "usage",
        "error",
        "budget",
        "repair",  # a failing check on the task's pull request sent it back
        "repair_limit",  # checks failed again after the last repair round: taskyard stopped
        "notification",  # a notice its channel failed to take (services/notification_outbox.py)
        "intake",  # another delivery of the same Sentry issue, ticket or key, with its count
        "reviewers",  # the people asked to review it were changed (services/actions.py)
    }
)


EVENTS: Table = Event.metadata.tables["events"]


ANY = 0  # no task's id: waiting on it wakes for every task's events (the board's streams)


class EventBus:
    """Wakes live readers of a task's events; safe to publish from any thread.

    A task someone follows (:meth:`follow`) also has its publishes counted, so that a
    reader that notes the count before it reads (:meth:`published`) and waits past it
    is woken by a publish that came between its read and its wait.
    """

    def __init__(self) -> None:
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )
        self._followers: dict[int, int] = {}  # task id -> readers following it
        self._published: dict[int, int] = {}  # followed task id -> publishes so far
        self._lock = threading.Lock()

    def follow(self, task_id: int) -> None:
        with self._lock:
            self._followers[task_id] = self._followers.get(task_id, 0) + 1
            self._published.setdefault(task_id, 0)

    def unfollow(self, task_id: int) -> None:
        with self._lock:
            self._followers[task_id] -= 1
            if not self._followers[task_id]:
                del self._followers[task_id], self._published[task_id]

    def published(self, task_id: int) -> int:
        """How many publishes a followed task (or :data:`ANY`) has had."""
        with self._lock:
            return self._published.get(task_id, 0)

    def publish(self, task_id: int) -> None:
        with self._lock:
            for counted in {task_id, ANY} & self._published.keys():
                self._published[counted] += 1
            waiters = [*self._waiters.get(task_id, ()), *self._waiters.get(ANY, ())]
        for loop, flag in waiters:
            loop.call_soon_threadsafe(flag.set)

    async def wait(self, task_id: int, timeout: float, seen: int | None = None) -> None:
        """Return when an event for ``task_id`` (any task for :data:`ANY`) is published
        here, or after ``timeout``; at once if it was published more than ``seen`` times
        (see :meth:`published`)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if seen is not None and self._published.get(task_id, 0) > seen:
                return
            self._waiters[task_id].add(entry)
        try:
            async with asyncio.timeout(timeout):
                await entry[1].wait()
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters[task_id].discard(entry)
                if not self._waiters[task_id]:
                    del self._waiters[task_id]


bus = EventBus()


def append(
    session: Session, task_id: int, kind: str, data: dict[str, Any], *, run_id: int | None = None
) -> Event:
    event = Event(
        task_id=task_id, run_id=run_id, kind=kind, data=storable(data), created_at=utcnow()
    )
    session.add(event)
    session.flush()
    session.info.setdefault("published", set()).add(task_id)
    return event


def append_many(
    session: Session,
    task_id: int,
    items: Iterable[tuple[str, dict[str, Any]]],
    *,
    run_id: int | None = None,
) -> int:
    """Insert many events in one statement (agent output arrives in bursts)."""
    now = utcnow()
    rows = [
        {
            "task_id": task_id,
            "run_id": run_id,
            "kind": kind,
            "data": storable(data),
            "created_at": now,
        }
        for kind, data in items
    ]
    if rows:
        # Core's executemany, not the ORM's bulk path: a third of the cost per row.
        session.execute(insert(EVENTS), rows)
        session.info.setdefault("published", set()).add(task_id)
    return len(rows)


def publish_committed(session: Session) -> None:
    """Wake live readers of every task this session wrote events for."""
    for task_id in session.info.pop("published", ()):
        bus.publish(task_id)


sa_event.listen(Session, "after_commit", publish_committed)


def list_events(
    session: Session,
    task_id: int,
    *,
    after: int = 0,
    limit: int = 500,
    kinds: list[str] | None = None,
) -> list[Event]:
    query = select(Event).where(Event.task_id == task_id, Event.id > after)
    if kinds:
        query = query.where(Event.kind.in_(kinds))
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


def newest_ids(session: Session, task_ids: Collection[int]) -> dict[int, int]:
    """The newest event id of each of ``task_ids`` that has events; of all, for :data:`ANY`."""
    tasks = [task_id for task_id in task_ids if task_id != ANY]
    found: dict[int, int] = {}
    if tasks:
        query = (
            select(EVENTS.c.task_id, func.max(EVENTS.c.id))
            .where(EVENTS.c.task_id.in_(tasks))
            .group_by(EVENTS.c.task_id)
        )
        found.update((task_id, newest) for task_id, newest in session.execute(query))
    if ANY in task_ids:
        found[ANY] = session.scalar(select(func.max(EVENTS.c.id))) or 0
    return found


def sse_frames(
    session: Session, task_id: int, *, after: int, limit: int, kinds: list[str] | None
) -> tuple[list[str], int]:
    """Server-Sent Event frames for the task's events after ``after``, and the last id.

    Reads the stored JSON as text and writes it into the frame as it is: live
    streams are the hottest read path, and decoding then re-encoding every event
    for every viewer cost more than the query.
    """
    table = EVENTS
    query = (
        select(
            table.c.id, table.c.kind, table.c.run_id, cast(table.c.data, Text), table.c.created_at
        )
        .where(table.c.task_id == task_id, table.c.id > after)
        .order_by(table.c.id)
        .limit(limit)
    )
    if kinds:
        query = query.where(table.c.kind.in_(kinds))
    frames = []
    last = after
    for event_id, kind, run_id, data, created_at in session.execute(query):
        run = "null" if run_id is None else str(run_id)
        frames.append(
            f"id: {event_id}\nevent: {kind}\ndata: "
            f'{{"id": {event_id}, "kind": "{kind}", "run_id": {run}, "data": {data}, '
            f'"created_at": "{iso_utc(created_at)}"}}\n\n'
        )
        last = event_id
    return frames, last


def as_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "run_id": event.run_id,
        "data": event.data,
        "created_at": iso_utc(event.created_at),
    }
