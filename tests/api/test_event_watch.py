"""Live streams learn of events other processes wrote through one watch per app: one
read per interval for every stream, none while no stream is open, and no event missed
between a stream's read and its wait."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Collection
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from fastapi import Request
from sqlalchemy import insert

from taskyard.api.routes.events import Read, follow
from taskyard.config import Settings
from taskyard.db.session import get_engine
from taskyard.services import event_watch
from taskyard.services.event_watch import EventWatch
from taskyard.services.events import ANY, EVENTS, bus
from tests.support.eventually import eventually

STREAMS = 50


class Newest:
    """The events table as the watch reads it, with every read it was asked for."""

    def __init__(self) -> None:
        self.newest: dict[int, int] = {}
        self.reads: list[frozenset[int]] = []

    def read(self, task_ids: Collection[int]) -> dict[int, int]:
        self.reads.append(frozenset(task_ids))
        return {i: self.newest[i] for i in task_ids if i in self.newest}


async def test_one_read_serves_every_stream_and_wakes_only_the_task_written() -> None:
    table = Newest()
    watch = EventWatch(table.read, every=0.01)
    with contextlib.ExitStack() as streams:
        for task_id in range(1, STREAMS + 1):
            streams.enter_context(watch.following(task_id))
        await eventually(lambda: len(table.reads) >= 3)
        assert table.reads[-1] == frozenset(range(1, STREAMS + 1))
        marks = {i: watch.mark(i) for i in (7, 8)}
        woken = asyncio.create_task(watch.wait(7, marks[7]))
        asleep = asyncio.create_task(watch.wait(8, marks[8]))
        await asyncio.sleep(0.05)
        table.newest[7] = 41  # another process wrote an event of task 7
        await asyncio.wait_for(woken, 5)
        assert not asleep.done()
        asleep.cancel()
        # An event the watch read before the stream waited: the mark says it is newer.
        table.newest[8] = 42
        await eventually(lambda: watch.mark(8).newest == 42)
        await asyncio.wait_for(watch.wait(8, marks[8]), 1)
    done = len(table.reads)
    await asyncio.sleep(0.05)
    assert len(table.reads) <= done + 1  # the read in flight at most: then none at all


async def test_a_publish_here_still_wakes_at_once() -> None:
    watch = EventWatch(Newest().read, every=10)  # the watch would not read again in time
    with watch.following(3):
        await asyncio.sleep(0)
        waiting = asyncio.create_task(watch.wait(3, watch.mark(3)))
        await asyncio.sleep(0.01)
        bus.publish(3)
        await asyncio.wait_for(waiting, 1)


async def test_a_publish_between_a_read_and_its_wait_wakes_at_once() -> None:
    watch = EventWatch(Newest().read, every=10)  # the watch would not read again in time
    with watch.following(4):
        mark = watch.mark(4)  # the stream's read starts
        bus.publish(4)  # this process commits an event the read may not have seen
        await asyncio.wait_for(watch.wait(4, mark), 1)  # not QUIET's 5 s later
        # Past it, the stream waits for the next publish, not at once.
        waiting = asyncio.create_task(watch.wait(4, watch.mark(4)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        bus.publish(4)
        await asyncio.wait_for(waiting, 1)
    assert bus.published(4) == 0  # nobody follows it any more: nothing kept


def _written_elsewhere(settings: Settings, task_id: int, line: str) -> None:
    """An event as a worker in another process writes it: no bus of this process hears."""
    with get_engine(settings.resolved_database_url).begin() as connection:
        connection.execute(
            insert(EVENTS),
            {
                "task_id": task_id,
                "run_id": None,
                "kind": "output",
                "data": {"line": line},
                "created_at": dt.datetime.now(dt.UTC),
            },
        )


def test_a_stream_sees_an_event_another_process_wrote(
    api: httpx.Client, api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_watch, "QUIET", 60)  # only the watch can wake the stream now
    task = api.post("/api/v1/tasks", json={"title": "t", "repository": "acme/shop", "run": False})
    assert task.status_code == 201, task.text
    task_id, key = task.json()["id"], task.json()["key"]
    seen: list[str] = []
    ready = threading.Event()

    def follow() -> None:
        with api.stream("GET", f"/api/v1/tasks/{key}/events?stream=true", timeout=30) as stream:
            for line in stream.iter_lines():
                ready.set()
                if line.startswith("data: ") and "elsewhere" in line:
                    seen.append(json.loads(line[6:])["data"]["line"])
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert ready.wait(10)  # the stream sent the task's first events: it waits now
    written = time.monotonic()
    _written_elsewhere(api_settings, task_id, "written elsewhere")
    reader.join(15)
    assert seen == ["written elsewhere"]
    print(f"seen {time.monotonic() - written:.2f} s after it was written")


def test_the_board_sees_any_task_written_elsewhere() -> None:
    table = Newest()

    async def run() -> None:
        watch = EventWatch(table.read, every=0.01)
        with watch.following(ANY):
            mark = watch.mark(ANY)
            waiting = asyncio.create_task(watch.wait(ANY, mark))
            await asyncio.sleep(0.05)
            table.newest[ANY] = 9
            await asyncio.wait_for(waiting, 5)

    asyncio.run(run())
    assert all(read == {ANY} for read in table.reads)


class _Request:
    """What ``follow`` reads of a request: the app's watch, and whether the client left."""

    def __init__(self, watch: EventWatch) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(event_watch=watch))

    async def is_disconnected(self) -> bool:
        return False


async def test_a_stream_reads_once_per_wake_unless_a_page_was_full() -> None:
    table = Newest()
    watch = EventWatch(table.read, every=0.01)
    answers = iter([Read("page 1\n\n", more=True), Read("page 2\n\n"), Read("", done=True)])
    reads: list[float] = []

    def read() -> Read:
        reads.append(time.monotonic())
        return next(answers)

    stream = follow(read, 5, cast(Request, _Request(watch)))
    # A full page is followed by a read at once; one that caught up waits to be woken.
    assert [await anext(stream), await anext(stream)] == ["page 1\n\n", "page 2\n\n"]
    ending = asyncio.ensure_future(anext(stream, "ended"))
    await eventually(lambda: len(table.reads) >= 5)  # the watch read, and saw nothing new
    assert len(reads) == 2 and not ending.done()
    table.newest[5] = 1  # another process wrote an event of the task: one read more
    assert await asyncio.wait_for(ending, 5) == "ended"
    assert len(reads) == 3
