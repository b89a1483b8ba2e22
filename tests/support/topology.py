"""The scale-out topology, for real: PostgreSQL, a standalone Temporal dev server,
``taskyard serve --no-worker`` and N ``taskyard worker`` processes.

Each worker has its own data directory, as separate hosts would have (checkouts,
mirrors and vaults are not shared); every process shares one database, one Temporal
server and one ``TASKYARD_SECRET_KEY``. Every piece listens on a random loopback port
and can be stopped, killed and started again on its own: a worker with SIGKILL, the
Temporal server on the same port and the same state file. The test suite and
``bench/scaleout.py`` both start it through :func:`topology`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from taskyard.config import Settings
from taskyard.engine.devserver import DevServer
from tests.support.process import ServeProcess, descendants, is_export
from tests.support.server import RunningServer

SECRET_KEY = "scale-out-shared-test-key"
T = TypeVar("T")


def postgres_base_url() -> str:
    """The PostgreSQL server the topology needs, or "" (``scripts/with-postgres`` and
    ``make test-postgres`` name one in TASKYARD_TEST_POSTGRES_URL)."""
    return os.environ.get("TASKYARD_TEST_POSTGRES_URL", "")


def wait_until(probe: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll ``probe`` until it returns something true; fail saying ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s: {what}")
        time.sleep(every)
    return found


@dataclass
class Topology:
    root: Path
    token: str
    env: dict[str, str]
    temporal: DevServer
    api: ServeProcess
    workers: list[ServeProcess] = field(default_factory=list)

    def add_workers(self, count: int) -> None:
        """Start ``count`` more ``taskyard worker`` processes, each with a data directory
        of its own; they start side by side (importing taskyard takes seconds of CPU)."""
        added = [
            ServeProcess(self.root / f"worker{len(self.workers) + i}", self.env, ("worker",))
            for i in range(count)
        ]
        for worker in added:
            worker.launch()
        self.workers += added
        for worker in added:
            worker.ready()

    def stop_temporal(self) -> None:
        self.temporal.stop()

    def start_temporal(self) -> None:
        """Start the Temporal server again: the same port, the same state file."""
        asyncio.run(self.temporal.start())

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.api.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
            **options,
        )

    def view(self, http: httpx.Client) -> RunningServer:
        """The API's task helpers (create, wait for a status, events) over ``http``."""
        settings = Settings(data_dir=self.root / "api")
        return RunningServer(self.api.url, settings, http, None)  # type: ignore[arg-type]

    def running_agents(self, worker: ServeProcess, marker: str) -> int:
        """How many processes under ``worker`` run a command holding ``marker``
        (the agents of its turns; the worker's own exports are left out)."""
        assert worker.process is not None
        found = 0
        for pid, _ in descendants(worker.process.pid, skip=is_export):
            try:
                found += marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
        return found

    def logs(self) -> str:
        """Every process's output tail, for a failing test's message."""
        parts = [f"--- api\n{self.api.tail()}"]
        parts += [f"--- worker{i}\n{w.tail()}" for i, w in enumerate(self.workers)]
        return "\n".join(parts)

    def close(self) -> None:
        """Kill every process: what they would do on a polite stop is not under test."""
        processes = [p.process for p in (*self.workers, self.api) if p.process is not None]
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()
        self.temporal.stop()


@contextmanager
def topology(
    root: Path,
    database_url: str,
    token: str,
    workers: int = 2,
    heartbeat_timeout: float = 2.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Topology]:
    """Temporal, the API and ``workers`` workers against ``database_url`` (PostgreSQL);
    local repositories under ``root``'s parent may be named by path."""
    temporal = DevServer(root / "temporal" / "temporal.db")
    env = {
        "TASKYARD_DATABASE_URL": database_url,
        "TASKYARD_TEMPORAL_ADDRESS": temporal.address,
        "TASKYARD_SECRET_KEY": SECRET_KEY,
        "TASKYARD_ADMIN_TOKEN": token,
        "TASKYARD_HEARTBEAT_TIMEOUT": str(heartbeat_timeout),
        "TASKYARD_LOCAL_REPOSITORY_ROOTS": str(root.parent),
        **(extra_env or {}),
    }
    api = ServeProcess(root / "api", env, ("serve", "--no-worker", "--port", "0"))
    running = Topology(root, token, env, temporal, api)
    try:
        running.start_temporal()
        # Each process migrates the database as it starts, and migrations take no lock:
        # the API first (as docs/deploy.md says), then the workers.
        api.start()
        running.add_workers(workers)
        yield running
    finally:
        running.close()
