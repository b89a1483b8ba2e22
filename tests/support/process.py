"""``taskyard serve`` and ``taskyard worker`` as real child processes, for tests that kill
them; process trees."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import httpx

URL_LINE = "taskyard is running at "
WORKER_LINE = "taskyard worker polling "


class ServeProcess:
    """One taskyard process: ``serve --port 0`` unless ``command`` says otherwise
    (``serve --no-worker --port 0``, ``worker``)."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str],
        command: Sequence[str] = ("serve", "--port", "0"),
    ) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "TASKYARD_DATA_DIR": str(data_dir), **env}
        self.command = list(command)
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        # The output's tail, for the message of a test that fails.
        self.output: deque[str] = deque(maxlen=200)

    def start(self) -> str:
        """Start the process; return once it serves (its URL) or polls (a worker: "")."""
        self.launch()
        return self.ready()

    def launch(self) -> None:
        """Start the process without waiting: several start at once, then each is waited
        for with :meth:`ready`."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskyard", *self.command],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output.clear()

    def ready(self) -> str:
        """Wait until the launched process serves (return its URL) or polls (a worker: "")."""
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith(URL_LINE):
                self.url = line[len(URL_LINE) :].strip()
            if line.startswith((URL_LINE, WORKER_LINE)):
                # Keep reading so a chatty process never blocks on a full pipe.
                threading.Thread(
                    target=self._drain, args=(self.process.stdout,), daemon=True
                ).start()
                return self.url
        raise AssertionError(f"{self.command[0]} exited before it was ready:\n" + self.tail())

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self.output.append(line)
        stream.close()

    def tail(self) -> str:
        return "".join(self.output)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a service manager stops it; returns its exit code."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def is_export(pid: int) -> bool:
    """Whether ``pid`` runs the export of a task's work (the snapshot script), which the
    worker starts after a turn to publish its diff: the server's, not the agent's."""
    try:
        return b"taskyard-snapshot" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def is_pool_refill(pid: int) -> bool:
    """Whether ``pid`` refills the checkout pool (a clone, a status, a hand-over), which
    the worker starts in the background after a claim: the server's, not the agent's."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return "/pool/" in cwd or b"/pool/" in cmdline


def descendants(
    root: int,
    skip: Callable[[int], bool] | None = None,
    skipped: set[tuple[int, str]] | None = None,
) -> set[tuple[int, str]]:
    """Live descendants of ``root``, as (pid, start time): a pid alone may be reused.

    Zombies count as gone: what is left of them is an exit status, not a process.
    A process ``skip`` says yes to is left out with everything below it (and added,
    with everything below it, to ``skipped``).
    """
    children: dict[int, list[int]] = {}
    start: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        start[pid] = fields[19]
    found: set[tuple[int, str]] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if skip is not None and skip(pid):
            if skipped is not None:
                skipped |= descendants(pid) | {(pid, start[pid])}
            continue
        found.add((pid, start[pid]))
        todo += children.get(pid, [])
    return found
