"""One read, every interval, of a value for each of many ids that many waiters follow.

Stops for a worker's running turns, the newest events for a process's live streams:
each waiter reading its own row every interval costs reads in proportion to the
waiters. Here the ids followed at the moment are read in one call per interval, and
only while any is followed; what the read finds is handed on, and a failed read (the
database restarting, say) is logged and tried again at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BatchedPoll(Generic[T]):
    """``read`` (blocking: it runs in a thread) returns the values of those of the ids that
    have one; ``found`` gets them on the event loop. ``what`` names them in the log."""

    def __init__(
        self,
        read: Callable[[Collection[int]], dict[int, T]],
        found: Callable[[dict[int, T]], None],
        every: float,
        what: str,
    ) -> None:
        self._read = read
        self._found = found
        self._every = every
        self._what = what
        self._following: Counter[int] = Counter()
        self._reader: asyncio.Task[None] | None = None

    def follow(self, key: int) -> None:
        """Read ``key`` from now on (the first read is made at once if none is running)."""
        self._following[key] += 1
        loop = asyncio.get_running_loop()  # an app or a worker run again runs on a new loop
        if self._reader is None or self._reader.done() or self._reader.get_loop() is not loop:
            self._reader = loop.create_task(self._run())

    def unfollow(self, key: int) -> None:
        self._following[key] -= 1
        if not self._following[key]:
            del self._following[key]

    def follows(self, key: int) -> bool:
        return key in self._following

    async def _run(self) -> None:
        while self._following:
            try:
                found = await asyncio.to_thread(self._read, list(self._following))
            except Exception:
                log.warning("could not read %s; trying again", self._what, exc_info=True)
                found = {}
            self._found(found)
            await asyncio.sleep(self._every)
