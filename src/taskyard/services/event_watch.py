"""Wakes a process's live streams for events that other processes wrote: one read for all.

A live stream (a task's events, its page, the board) is woken at once by the event bus
(:data:`taskyard.services.events.bus`) when this process commits events. Events a worker
in another process writes reach no bus here, so each stream used to read the database
every half second as well: 50 open streams cost 200 reads a second while nothing
happened. Now one read per :data:`POLL`, of the newest event id of every task a stream
here follows (and of all events, for the board's :data:`~taskyard.services.events.ANY`),
wakes the streams whose task has newer events through the same bus.

A stream takes a :meth:`EventWatch.mark` before each read of its own and waits past
that mark, so an event that the watch learns of, or that this process publishes, between
the stream's read and its wait is never missed: it wakes the stream at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

from taskyard.db.session import session_scope
from taskyard.services import events
from taskyard.services.batched_poll import BatchedPoll

POLL = 0.5  # seconds between reads: how late an event written elsewhere may be seen
QUIET = 5.0  # seconds a stream waits for a wake before it reads anyway (a safety net)

ReadLatest = Callable[[Collection[int]], dict[int, int]]


class Mark(NamedTuple):
    """Where a stream stood before a read: the newest event the watch knew of, and how
    many times this process had published the task's events."""

    newest: int
    published: int


class EventWatch:
    """``read`` returns the newest event id of each given task (of all tasks for
    :data:`~taskyard.services.events.ANY`); blocking, it runs in a thread."""

    def __init__(self, read: ReadLatest, every: float = POLL) -> None:
        self._latest: dict[int, int] = {}
        self._poll = BatchedPoll(read, self._found, every, "the newest events")

    @contextlib.contextmanager
    def following(self, task_id: int) -> Iterator[None]:
        """Keep ``task_id``'s newest event read while the block runs (a stream's life)."""
        self._poll.follow(task_id)
        events.bus.follow(task_id)
        try:
            yield
        finally:
            events.bus.unfollow(task_id)
            self._poll.unfollow(task_id)
            if not self._poll.follows(task_id):
                self._latest.pop(task_id, None)

    def mark(self, task_id: int) -> Mark:
        """Where the task's events stand here; take it before reading them."""
        return Mark(self._latest.get(task_id, 0), events.bus.published(task_id))

    async def wait(self, task_id: int, mark: Mark) -> None:
        """Until the task has an event newer than ``mark`` (read here, or published on
        the bus by this process), or :data:`QUIET` seconds pass."""
        if self._latest.get(task_id, 0) > mark.newest:
            return
        await events.bus.wait(task_id, QUIET, seen=mark.published)

    def _found(self, latest: dict[int, int]) -> None:
        for task_id, newest in latest.items():
            if self._poll.follows(task_id) and newest > self._latest.get(task_id, 0):
                self._latest[task_id] = newest
                events.bus.publish(task_id)


def database_reader(url: str) -> ReadLatest:
    """What a watch reads: the newest events of the tasks, in a short read of its own."""

    def read(task_ids: Collection[int]) -> dict[int, int]:
        with session_scope(url, write=False) as session:
            return events.newest_ids(session, task_ids)

    return read
