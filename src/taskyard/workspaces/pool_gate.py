"""Tasks on their way to their agent go before the checkout pool's refills.

A refill clones the whole tree (about 0.1 s of CPU at 5,000 files, most of it the
kernel's), from a thread of this process that takes the interpreter by turns with the
tasks of the process. Started at a claim, it ran while the task that claimed was still
on its way to its agent, and slowed it (14 to 18 ms of about 110, alternating within one
server). A refill now waits until no task of the process is on its way, or for
:data:`MAX_WAIT` seconds at most: a long setup script, or a burst that never lets up,
does not keep the pool empty for the tasks after it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

MAX_WAIT = 1.0

_quiet = threading.Condition()
_on_the_way = 0


@contextlib.contextmanager
def on_the_way() -> Iterator[None]:
    """Held by a task from before it claims a checkout until its agent has started."""
    global _on_the_way
    with _quiet:
        _on_the_way += 1
    try:
        yield
    finally:
        with _quiet:
            _on_the_way -= 1
            if not _on_the_way:
                _quiet.notify_all()


def wait_for_quiet(timeout: float | None = None) -> bool:
    """Wait until no task is on its way to its agent; False if ``timeout`` seconds
    (:data:`MAX_WAIT` by default) came first."""
    with _quiet:
        return _quiet.wait_for(lambda: _on_the_way == 0, MAX_WAIT if timeout is None else timeout)
