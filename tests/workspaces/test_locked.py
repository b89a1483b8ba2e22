"""``file_lock.locked``: a wait for a lock held elsewhere is said once it lasts, never otherwise."""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path

import pytest

from taskyard.workspaces.file_lock import locked


class Said:
    """A ``waiting`` callback that counts its calls and can be made slow."""

    def __init__(self, takes: float = 0.0) -> None:
        self.times = 0
        self.done = 0
        self.takes = takes

    async def __call__(self) -> None:
        self.times += 1
        await asyncio.sleep(self.takes)
        self.done += 1


async def test_a_lock_free_at_once_is_taken_without_a_word(tmp_path: Path) -> None:
    said = Said()
    async with locked(tmp_path / "lock", waiting=said, said_after=0.05):
        await asyncio.sleep(0.15)  # held past the delay: holding is not waiting
    assert said.times == 0


async def test_a_wait_that_lasts_is_said_once_and_before_the_holder_goes_on(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "lock"
    said = Said(takes=0.1)
    order: list[str] = []
    async with locked(lock):  # an earlier try, in this process, holds it

        async def waiter() -> None:
            async with locked(lock, waiting=said, said_after=0.05):
                order.append(f"holding, said {said.done}")

        waiting = asyncio.ensure_future(waiter())
        async with asyncio.timeout(10):
            while said.times == 0:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # it keeps waiting, and says it once
        assert said.times == 1 and not waiting.done()
    await asyncio.wait_for(waiting, 10)
    assert order == ["holding, said 1"]


async def test_a_lock_another_process_holds_is_waited_for_and_said(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    said = Said()
    with lock.open("a") as other:  # another open file: a lock as another process holds it
        fcntl.flock(other, fcntl.LOCK_EX)
        waiting = asyncio.ensure_future(_hold(lock, said))
        async with asyncio.timeout(10):
            while said.done == 0:
                await asyncio.sleep(0.01)
        assert not waiting.done()
        fcntl.flock(other, fcntl.LOCK_UN)
    await asyncio.wait_for(waiting, 10)
    assert said.times == 1


async def _hold(lock: Path, said: Said, after: float = 0.05) -> None:
    async with locked(lock, waiting=said, said_after=after):
        pass


async def test_a_waiter_cancelled_before_the_delay_never_says_it(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    said = Said()
    async with locked(lock):
        waiting = asyncio.ensure_future(_hold(lock, said, after=0.3))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.4)  # past its delay: nothing is said for a waiter gone
    assert said.times == 0


async def test_a_cancel_while_it_says_so_still_cancels_the_waiter(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    said = Said(takes=0.2)
    async with locked(lock):
        waiting = asyncio.ensure_future(_hold(lock, said))
        async with asyncio.timeout(10):
            while said.times == 0:
                await asyncio.sleep(0.01)
        waiting.cancel()  # in the middle of saying it
        with pytest.raises(asyncio.CancelledError):
            await waiting
    # The lock is free for the next one: nothing was left holding it.
    async with asyncio.timeout(5):
        async with locked(lock):
            pass
