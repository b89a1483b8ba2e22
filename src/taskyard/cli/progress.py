"""Waiting for a task in front of a person: a live status line and what to run next.

On a terminal, a spinner line on stderr says where the task is and for how long; when
the task stops at an approval gate, a hint names the commands that move it on. Without
a terminal only the hints are printed (to stderr), so logs and scripts stay clean.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from types import TracebackType

from taskyard.cli.context import globals_of
from taskyard.cli.output import hint, paint
from taskyard.sdk import FINAL_STATUSES, Client, Task

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
TICK = 0.1


class Spinner:
    """One line on stderr, redrawn every tick while the main thread blocks on the API."""

    def __init__(self) -> None:
        found = globals_of()
        self.enabled = sys.stderr.isatty() and not found.quiet and found.fmt != "json"
        self.text = ""
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._clear()

    def update(self, text: str) -> None:
        with self._lock:
            self.text = text

    def say(self, message: str) -> None:
        """Print a hint above the spinner line."""
        with self._lock:
            self._clear()
            hint(message)

    def _clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()

    def _run(self) -> None:
        frame = 0
        while not self._stop.wait(TICK):
            with self._lock:
                elapsed = int(time.monotonic() - self.started)
                spin = paint(FRAMES[frame % len(FRAMES)], "cyan", err=True)
                sys.stderr.write(f"\r\x1b[2K{spin} {self.text} ({elapsed}s)")
                sys.stderr.flush()
            frame += 1


def next_step(key: str, status: str, stage: str) -> str | None:
    """What a person can run now that the task is in ``status`` at ``stage``."""
    if status == "waiting":
        return (
            f"{key} waits for you at {stage}: run `taskyard tasks approve {key}` to go on, "
            f"or `taskyard tasks request-changes {key} TEXT` to send it back."
        )
    return None


def wait(
    client: Client,
    key: str,
    statuses: Iterable[str] = FINAL_STATUSES,
    *,
    stage: str | None = None,
    timeout: float | None = None,
) -> Task:
    """``client.tasks.wait`` with a spinner and next-step hints for what it passes."""
    wanted = tuple(statuses)
    last = [""]
    with Spinner() as spinner:

        def changed(status: str, at: str) -> None:
            spinner.update(f"{key} is {status} at {at or '-'}")
            # A gate is reached by a status change; a stage change while the status
            # still reads "waiting" is the task leaving a gate, not reaching one.
            reached, last[0] = status != last[0], status
            arrived = status in wanted and stage in (None, at)
            step = next_step(key, status, at) if reached and not arrived else None
            if step:
                spinner.say(step)

        return client.tasks.wait(key, wanted, stage=stage, timeout=timeout, on_change=changed)
