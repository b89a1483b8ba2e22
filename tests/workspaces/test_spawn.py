"""A cancel that lands while a process starts ends the step at once, and leaves nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from taskyard.workspaces.spawn import spawn

PIPE, STDOUT = asyncio.subprocess.PIPE, asyncio.subprocess.STDOUT


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie is gone for this purpose (its parent, the
    test's shell, was killed too), and so is one reaped as it was looked at."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_cancel_while_a_process_starts_kills_it_and_what_it_started(
    tmp_path: Path,
) -> None:
    """What the process started holds its output pipe: asyncio's own cleanup (kill the
    process, wait for its pipes) then waited forever; so did the step (a sandbox's bwrap,
    whose child had not yet learned to die with it)."""
    written = tmp_path / "grandchild"
    script = f"sleep 300 & echo $! > {written}.part && mv {written}.part {written}; wait"
    starting = asyncio.ensure_future(
        spawn("sh", "-c", script, stdout=PIPE, stderr=STDOUT, start_new_session=True)
    )
    for _ in range(2):  # spawn's own step, then the start's: the process now exists
        await asyncio.sleep(0)
    deadline = time.monotonic() + 10
    while not written.exists():  # the loop held: the start cannot finish meanwhile
        assert time.monotonic() < deadline, "the process never started its child"
        time.sleep(0.005)
    grandchild = int(written.read_text())
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(starting, 10)
    deadline = time.monotonic() + 10
    while alive(grandchild):
        assert time.monotonic() < deadline, "what the process started still runs"
        await asyncio.sleep(0.01)


async def test_a_process_started_is_returned_as_asyncio_gives_it() -> None:
    process = await spawn("sh", "-c", "echo hello", stdout=PIPE)
    out, _ = await process.communicate()
    assert (out, process.returncode) == (b"hello\n", 0)
