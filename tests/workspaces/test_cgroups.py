"""Per-sandbox cgroups: which limit stopped a tree, against the machine's real cgroups."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from taskyard.workspaces.cgroups import Cgroup

MakeCgroup = Callable[..., Cgroup]

# Forks 40 sleepers, saying how many it made and whether a fork failed.
FORK = """
import os, time
n = 0
for _ in range(40):
    try:
        pid = os.fork()
    except OSError as e:
        print("fork failed:", e)
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    n += 1
print("forked", n)
"""


@pytest.fixture
async def make_cgroup() -> AsyncIterator[MakeCgroup]:
    """Creates cgroups with the given limits, and removes them after the test."""
    made: list[Cgroup] = []

    def make(memory_mb: int = 4096, processes: int = 512) -> Cgroup:
        group = Cgroup.create("test", memory_mb=memory_mb, processes=processes)
        if group is None:
            pytest.skip("no writable memory and pids cgroups on this machine")
        made.append(group)
        return group

    yield make
    for group in made:
        await group.remove()


async def run_in(group: Cgroup, code: str) -> tuple[int, str]:
    """Run Python ``code`` in ``group``; its exit status and output.

    What it leaves running is killed once it exits, as a sandbox's tree is.
    Output goes to a file: asyncio waits for a pipe to close, which the
    children left running would hold open.
    """
    with tempfile.TemporaryFile() as out:
        process = await asyncio.create_subprocess_exec(
            *group.joining([sys.executable, "-c", code]), stdout=out
        )
        status = await asyncio.wait_for(process.wait(), 60)
        group.kill()
        out.seek(0)
        return status, out.read().decode()


async def test_memory_limit_names_itself(make_cgroup: MakeCgroup) -> None:
    group = make_cgroup(memory_mb=64)
    status, out = await run_in(group, "b = b'x' * (200 << 20); print('allocated')")
    assert status == -9 and "allocated" not in out
    assert group.limit_message() == "killed: memory limit 64 MB reached"


async def test_process_limit_names_itself(make_cgroup: MakeCgroup) -> None:
    group = make_cgroup(processes=16)
    _, out = await run_in(group, FORK)
    assert "fork failed" in out
    assert group.limit_message() == "process limit 16 reached"


async def test_both_limits_are_named(make_cgroup: MakeCgroup) -> None:
    group = make_cgroup(memory_mb=64, processes=16)
    await run_in(group, FORK)
    await run_in(group, "b = b'x' * (200 << 20)")
    assert group.limit_message() == ("killed: memory limit 64 MB reached; process limit 16 reached")


async def test_a_tree_within_its_limits_says_nothing(make_cgroup: MakeCgroup) -> None:
    group = make_cgroup(memory_mb=256, processes=64)
    assert (await run_in(group, "import subprocess; subprocess.run(['true'])"))[0] == 0
    assert group.limit_message() == ""


def test_cgroup_v2_counters(tmp_path: Path) -> None:
    # This machine runs cgroup v1; a directory laid out as a v2 tree checks the
    # v2 file names and formats (the kernel writes the events files).
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    # mkdir in cgroupfs makes a group's interface files; here the test does.
    for path in (tmp_path, tmp_path / "taskyard"):
        path.mkdir(exist_ok=True)
        (path / "cgroup.subtree_control").write_text("")
    group = Cgroup.create("v2", memory_mb=512, processes=64, root=tmp_path)
    assert group is not None and group.version == 2
    (d,) = group.dirs
    assert (d / "memory.max").read_text() == str(512 << 20)
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 0\n")
    (d / "pids.events").write_text("max 0\n")
    assert group.limit_message() == ""  # reclaim at memory.max is no kill
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    (d / "pids.events").write_text("max 3\n")
    assert group.limit_message() == (
        "killed: memory limit 512 MB reached; process limit 64 reached"
    )


async def test_what_joins_is_in_the_group_with_what_it_starts(make_cgroup: MakeCgroup) -> None:
    # The joining shell moves its one thread; the program it becomes, a thread that
    # program starts and a child it runs must be in every hierarchy's group all the same.
    group = make_cgroup()
    code = (
        "import subprocess, threading; "
        "print(open('/proc/self/cgroup').read()); "
        "t = threading.Thread(target=lambda: print(open('/proc/thread-self/cgroup').read())); "
        "t.start(); t.join(); "
        "print(subprocess.run(['cat', '/proc/self/cgroup'], capture_output=True, text=True).stdout)"
    )
    status, out = await run_in(group, code)
    assert status == 0, out
    lines = out.splitlines()
    controllers = ["memory", "pids"] if group.version == 1 else [""]
    for controller, directory in zip(controllers, group.dirs, strict=True):
        inside = [
            line
            for line in lines
            if line.split(":")[1:2] == [controller] and line.endswith("/" + directory.name)
        ]
        assert len(inside) == 3, out  # the process's line, its thread's, its child's
