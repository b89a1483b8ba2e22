"""A worker's running turns wait on their stops through one reader: one read per interval
for all of them, each told only its own task's stop, and nothing read once none wait."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from taskyard.engine.stop_watch import StopWatch
from taskyard.services.stops import Stop
from tests.support.eventually import eventually

TURNS = 50


class Stops:
    """The stops table as the watch reads it, with every read it was asked for."""

    def __init__(self) -> None:
        self.stops: dict[int, Stop] = {}
        self.reads: list[frozenset[int]] = []
        self.failing = 0  # reads still to fail, as a database restarting makes them

    def read(self, task_ids: Collection[int]) -> dict[int, Stop]:
        self.reads.append(frozenset(task_ids))
        if self.failing:
            self.failing -= 1
            raise ConnectionError("the database is restarting")
        return {i: self.stops[i] for i in task_ids if i in self.stops}


async def test_one_read_serves_every_waiting_turn_and_tells_each_its_own() -> None:
    table = Stops()
    watch = StopWatch(table.read, every=0.01)
    waiting = {i: asyncio.create_task(watch.wait(i)) for i in range(1, TURNS + 1)}
    await eventually(lambda: len(table.reads) >= 5)
    everyone = frozenset(waiting)
    assert all(read == everyone for read in table.reads[1:])  # the first may predate some
    table.stops[7] = Stop("cancel", "Cancelled by ada")
    assert await waiting.pop(7) == Stop("cancel", "Cancelled by ada")
    await asyncio.sleep(0.05)  # reads go on: no other turn was told anything
    assert not any(task.done() for task in waiting.values())
    assert table.reads[-1] == everyone - {7}
    for task in waiting.values():
        task.cancel()
    await asyncio.gather(*waiting.values(), return_exceptions=True)
    done = len(table.reads)
    await asyncio.sleep(0.05)
    assert len(table.reads) <= done + 1  # the read in flight at most: then none at all


async def test_a_failed_read_is_tried_again_and_ends_no_turn() -> None:
    table = Stops()
    table.failing = 3
    watch = StopWatch(table.read, every=0.01)
    waiting = asyncio.create_task(watch.wait(1))
    await eventually(lambda: len(table.reads) > 3)
    assert not waiting.done()
    table.stops[1] = Stop("budget", "max_tokens (1000)")
    assert await waiting == Stop("budget", "max_tokens (1000)")


async def test_a_turn_that_comes_after_the_reader_stopped_starts_it_again() -> None:
    table = Stops()
    watch = StopWatch(table.read, every=0.01)
    table.stops[1] = Stop("cancel", "Cancelled by ada")
    assert await watch.wait(1) == Stop("cancel", "Cancelled by ada")
    await asyncio.sleep(0.05)  # no one waits: the reader ends
    reads = len(table.reads)
    table.stops[2] = Stop("cancel", "Cancelled by bob")
    assert await watch.wait(2) == Stop("cancel", "Cancelled by bob")
    assert len(table.reads) > reads
