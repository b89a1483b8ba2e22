"""What the workspace tests share: a data directory laid out as a server's, a sandbox
provider, an HTTP server on the host's loopback, and a log of git's fetches."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskyard.config import get_settings
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.files import hand_over

DB_SECRET = "sqlite-secret-rows"
SIBLING_SECRET = "other-task-source"


@dataclass
class Dirs:
    data: Path
    checkout: Path
    sibling: Path
    home: Path


@pytest.fixture
def dirs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dirs]:
    # Outside /tmp on purpose: the sandbox gets a private /tmp, which would hide
    # a data directory under it whether or not the provider does its job.
    data = Path(tempfile.mkdtemp(prefix="taskyard-test-", dir="/var/tmp"))
    monkeypatch.setenv("TASKYARD_DATA_DIR", str(data))
    get_settings.cache_clear()
    (data / "taskyard.db").write_text(DB_SECRET)
    checkout = data / "checkouts" / "TY-1"
    sibling = data / "checkouts" / "TY-2"
    for path in (checkout, sibling):
        path.mkdir(parents=True)
    hand_over(checkout)  # as create_checkout does: the agent owns its checkout
    (sibling / "main.py").write_text(SIBLING_SECRET)
    yield Dirs(data, checkout, sibling, data / "homes" / "TY-1")
    get_settings.cache_clear()
    shutil.rmtree(data)


@pytest.fixture
def provider() -> BubblewrapProvider:
    return BubblewrapProvider()


@pytest.fixture
async def host_server() -> AsyncIterator[int]:
    """An HTTP server on the host's loopback; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\nhello-from-host")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
def fetch_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where every ``git fetch`` from now on is logged (``<cwd> <args>``), by a
    wrapper put first on PATH: a seam at the process boundary, nothing mocked."""
    real = shutil.which("git")
    bin_dir, log = tmp_path / "bin", tmp_path / "fetches.log"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" fetch "*) echo "$(pwd -P) $*" >> {log} ;; esac\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log
