"""An exclusive lock on a file, against other processes and the tasks of this one."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def locked(
    lock_file: Path,
    waiting: Callable[[], Awaitable[None]] | None = None,
    said_after: float = 0.0,
) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``lock_file``, against other processes and tasks.

    Tasks of one process queue on an asyncio lock first, so that at most one thread
    per file blocks in ``flock``: a burst of tasks would otherwise park a thread each
    in the executor that database work needs too.

    ``waiting``: awaited once if the lock is not ours after ``said_after`` seconds (the
    wait goes on meanwhile), to say so; the lock is not taken before it has said it.
    """
    loop = asyncio.get_running_loop()
    local = _LOOP_LOCKS.setdefault(loop, {}).setdefault(lock_file, asyncio.Lock())
    teller = _Teller(waiting, said_after)
    try:
        async with local:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            with lock_file.open("a") as handle:
                await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
                try:
                    await teller.stop()
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        await teller.stop()


class _Teller:
    """Awaits ``say`` once ``after`` seconds have passed, unless stopped before."""

    def __init__(self, say: Callable[[], Awaitable[None]] | None, after: float) -> None:
        self._task = None if say is None else asyncio.ensure_future(self._later(say, after))
        self._saying = False

    async def _later(self, say: Callable[[], Awaitable[None]], after: float) -> None:
        await asyncio.sleep(after)
        self._saying = True
        try:
            await say()
        except Exception:  # saying it is a courtesy; the wait goes on regardless
            log.warning("could not say that a lock is awaited", exc_info=True)

    async def stop(self) -> None:
        """Not saying yet: it never will. Saying: said first, so that what the waiter
        does next comes after it on the task's timeline. A cancel of the caller meanwhile
        is the caller's (``asyncio.wait`` passes it on)."""
        task, self._task = self._task, None
        if task is None:
            return
        if not self._saying:
            task.cancel()
        await asyncio.wait({task})
