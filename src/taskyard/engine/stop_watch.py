"""One reader of stops for every turn a worker runs.

A running turn must see its task's stop (a cancel, a budget reached) within
:data:`STOP_POLL` seconds, and the stop lives on the task's row, which any process
may write. Each turn reading its own row five times a second cost a worker running
50 agents 250 reads a second; here one read of all the rows the worker's turns wait
on is made per interval, however many turns there are, and only while any wait
(:class:`~taskyard.services.batched_poll.BatchedPoll`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Collection

from taskyard.services.batched_poll import BatchedPoll
from taskyard.services.stops import Stop

STOP_POLL = 0.2  # seconds between reads of the stops: a cancel's worst-case delay

ReadStops = Callable[[Collection[int]], dict[int, Stop]]


class StopWatch:
    """Tells each waiting turn its task's stop; ``read`` returns the stops of the given
    tasks that have one (blocking: it runs in a thread)."""

    def __init__(self, read: ReadStops, every: float = STOP_POLL) -> None:
        self._waiters: defaultdict[int, set[asyncio.Future[Stop]]] = defaultdict(set)
        self._poll = BatchedPoll(read, self._found, every, "the running turns' stops")

    async def wait(self, task_id: int) -> Stop:
        """The task's stop, once it has one: read within :data:`STOP_POLL` of its writing."""
        waiter: asyncio.Future[Stop] = asyncio.get_running_loop().create_future()
        self._waiters[task_id].add(waiter)
        self._poll.follow(task_id)
        try:
            return await waiter
        finally:
            self._poll.unfollow(task_id)
            self._waiters[task_id].discard(waiter)
            if not self._waiters[task_id]:
                del self._waiters[task_id]

    def _found(self, stops: dict[int, Stop]) -> None:
        for task_id, stop in stops.items():
            for waiter in self._waiters.get(task_id, ()):
                if not waiter.done():
                    waiter.set_result(stop)
