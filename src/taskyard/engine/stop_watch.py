"""One reader of stops for every turn a worker runs.

A running turn must see its task's stop (a cancel, a budget reached) within
:data:`STOP_POLL` seconds, and the stop lives on the task's row, which any process
may write. Each turn reading its own row five times a second cost a worker running
50 agents 250 reads a second; here one read of all the rows the worker's turns wait
on is made per interval, however many turns there are, and only while any wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Collection

from taskyard.services.stops import Stop

log = logging.getLogger(__name__)

STOP_POLL = 0.2  # seconds between reads of the stops: a cancel's worst-case delay

ReadStops = Callable[[Collection[int]], dict[int, Stop]]


class StopWatch:
    """Tells each waiting turn its task's stop; ``read`` returns the stops of the given
    tasks that have one (blocking: it runs in a thread)."""

    def __init__(self, read: ReadStops, every: float = STOP_POLL) -> None:
        self._read = read
        self._every = every
        self._waiters: defaultdict[int, set[asyncio.Future[Stop]]] = defaultdict(set)
        self._reader: asyncio.Task[None] | None = None

    async def wait(self, task_id: int) -> Stop:
        """The task's stop, once it has one: read within :data:`STOP_POLL` of its writing."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Stop] = loop.create_future()
        self._waiters[task_id].add(waiter)
        if self._reader is None or self._reader.done() or self._reader.get_loop() is not loop:
            self._reader = loop.create_task(self._run())
        try:
            return await waiter
        finally:
            waiting = self._waiters.get(task_id)
            if waiting is not None:
                waiting.discard(waiter)
                if not waiting:
                    del self._waiters[task_id]

    async def _run(self) -> None:
        while self._waiters:
            try:
                found = await asyncio.to_thread(self._read, list(self._waiters))
            except Exception:  # the database restarting, say: no turn ends for it
                log.warning("could not read the running turns' stops; trying again", exc_info=True)
                found = {}
            for task_id, stop in found.items():
                for waiter in self._waiters.get(task_id, ()):
                    if not waiter.done():
                        waiter.set_result(stop)
            await asyncio.sleep(self._every)
