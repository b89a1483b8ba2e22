"""Starting a process from asyncio so that a cancel cannot strand the step that started it.

Cancelled while it starts a process, ``asyncio.create_subprocess_exec`` (Python 3.11) kills
the process it started and then waits for the process's pipes to close. Whatever that
process started in the meantime holds them open: bubblewrap's own child, in the moment
before it has learned to die with its parent, waits forever on a pipe of its dead parent,
and the cancelled step waited with it (a turn timed out while its sandbox started; its
retry then waited forever for the checkout the stranded try still held). So the start is
seen through, and only then is the process killed, with its whole group where it has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

log = logging.getLogger(__name__)
Process = asyncio.subprocess.Process
# Killed with its whole group, a process's pipes close at once; this is for one that
# handed them to a process of another group.
REAPED_WITHIN = 5.0


async def spawn(*argv: str, **options: Any) -> Process:
    """``asyncio.create_subprocess_exec(*argv, **options)``, safe to cancel.

    On a cancel, the start (a few milliseconds) is awaited, then the process killed (its
    process group, with ``start_new_session``: everything it started too) and reaped, and
    the cancel raised: the caller's cleanup runs as for any failure, with nothing left
    holding the process's pipes.
    """
    starting = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, **options))
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        await _through(starting)
        if not starting.cancelled() and starting.exception() is None:
            process = starting.result()
            kill(process, group=bool(options.get("start_new_session")))
            # Reaped here, not left to the child watcher: its pipes are the caller's fds.
            if not await _through(asyncio.ensure_future(process.wait()), REAPED_WITHIN):
                log.warning("process %s, killed as its start was cancelled, lingers", process.pid)
        raise


async def _through(future: asyncio.Future[Any], timeout: float | None = None) -> bool:
    """Await ``future`` to its end, whatever cancels come meanwhile (they were taken
    already), for ``timeout`` seconds at most; whether it ended."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while not future.done():
        left = None if deadline is None else deadline - loop.time()
        if left is not None and left <= 0:
            return False
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({future}, timeout=left)
    return True


def kill(process: Process, *, group: bool) -> None:
    """SIGKILL ``process``, or its process group (``group``: it leads one of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
