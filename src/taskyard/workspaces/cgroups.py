"""Per-sandbox cgroups: memory and process limits, and killing a whole tree.

Each sandbox gets a cgroup of its own, created *below the server's own cgroup*
(so limits the server itself runs under still apply to its sandboxes):

- cgroup v1 (``memory`` and ``pids`` hierarchies, each under /sys/fs/cgroup/<name>):
  ``<own cgroup>/taskyard/<sandbox>`` in both;
- cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` exists): the same path in the
  unified tree. v2 forbids processes in a cgroup that hands controllers to its
  children, so this only works when the server's cgroup can enable ``memory``
  and ``pids`` for its subtree (the root cgroup, or a delegated one whose
  processes live in a leaf); otherwise :meth:`Cgroup.create` returns None.

The sandbox's first process joins the cgroup itself before it execs the sandbox
(:meth:`Cgroup.joining`), so nothing it starts can run outside the limits, not
even briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# Moves itself ("0": the writer) into each file's cgroup given before "--", then execs
# what follows.
JOIN = 'for f; do [ "$f" = -- ] && break; echo 0 > "$f" || exit 125; shift; done; shift; exec "$@"'

CGROUP_ROOT = Path("/sys/fs/cgroup")
_V1_CONTROLLERS = ("memory", "pids")


def _own_paths() -> dict[str, str]:
    """Controller (``""`` for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _under(mount: Path, own: str) -> Path:
    # Inside a container without a cgroup namespace, /proc/self/cgroup names a
    # path the container's mount does not show; the mount's root is ours then.
    nested = mount / own.lstrip("/")
    return nested if nested.is_dir() else mount


def _enable_controllers(path: Path) -> None:
    enabled = (path / "cgroup.subtree_control").read_text().split()
    missing = [c for c in _V1_CONTROLLERS if c not in enabled]
    if missing:
        (path / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))


def _counter(events: Path, key: str) -> int:
    """The value of ``key`` in a cgroup's ``<key> <count>`` events file; 0 if absent."""
    with contextlib.suppress(OSError):
        match = re.search(rf"^{key} (\d+)$", events.read_text(), re.MULTILINE)
        return int(match.group(1)) if match else 0
    return 0


class Cgroup:
    """One sandbox's cgroup, in one directory per hierarchy (two for v1, one for v2)."""

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs = dirs
        self.version = version
        self.memory_mb = 0
        self.processes = 0

    @classmethod
    def create(
        cls, label: str, *, memory_mb: int, processes: int, root: Path = CGROUP_ROOT
    ) -> Cgroup | None:
        """Create and configure a cgroup for a sandbox.

        Returns:
            The cgroup, or None (after logging why) where no writable hierarchy
            offers the memory and pids controllers.
        """
        name = f"{re.sub(r'[^A-Za-z0-9_-]', '_', label) or 'sandbox'}-{uuid.uuid4().hex[:8]}"
        error: object = "no memory and pids controllers mounted"
        for _ in range(3):
            try:
                own = _own_paths()
                if (root / "cgroup.controllers").exists():
                    group = cls._create_v2(root, own.get("", "/"), name)
                else:
                    group = cls._create_v1(root, own, name)
                if group is not None:
                    group._configure(memory_mb, processes)
                    return group
                break
            except FileNotFoundError as exc:
                error = exc  # a sandbox that just ended removed the shared parent: retry
            except OSError as exc:
                error = exc
                break
        log.warning("no cgroup for sandbox %s (%s); limits fall back to rlimits", label, error)
        return None

    @classmethod
    def _create_v1(cls, root: Path, own: dict[str, str], name: str) -> Cgroup | None:
        if not all((root / c / "cgroup.procs").exists() for c in _V1_CONTROLLERS):
            return None
        dirs = [_under(root / c, own.get(c, "/")) / "taskyard" / name for c in _V1_CONTROLLERS]
        created: list[Path] = []
        try:
            for path in dirs:
                path.mkdir(parents=True)
                created.append(path)
        except OSError:
            for path in created:
                path.rmdir()
            raise
        return cls(dirs, 1)

    @classmethod
    def _create_v2(cls, root: Path, own: str, name: str) -> Cgroup | None:
        base = _under(root, own)
        _enable_controllers(base)
        parent = base / "taskyard"
        parent.mkdir(exist_ok=True)
        _enable_controllers(parent)
        path = parent / name
        path.mkdir()
        return cls([path], 2)

    def _configure(self, memory_mb: int, processes: int) -> None:
        self.memory_mb, self.processes = memory_mb, processes
        memory_bytes = memory_mb << 20
        try:
            if self.version == 2:
                (d,) = self.dirs
                (d / "memory.max").write_text(str(memory_bytes))
                # Without this the limit only pushes the sandbox into swap.
                if (d / "memory.swap.max").exists():
                    (d / "memory.swap.max").write_text("0")
                (d / "pids.max").write_text(str(processes))
            else:
                memory, pids = self.dirs
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                if (memory / "memory.memsw.limit_in_bytes").exists():
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                (pids / "pids.max").write_text(str(processes))
        except OSError:
            self._rmdir()
            raise

    def joining(self, argv: Sequence[str]) -> list[str]:
        """``argv``, started by a shell that first moves itself into this cgroup.

        A shell, not a ``preexec_fn``, which would make Python fork the whole server
        (see :func:`.sandbox.dying_with_parent`).
        """
        # v1: the shell's one thread, through ``tasks``. A thread moving itself is the one
        # move the kernel makes without its system-wide lock on every thread group
        # (Linux 6.1 and later), whose taking waits out an RCU grace period: 8 to 11 ms
        # of each sandbox's start here, where this takes 0.1. The shell has no other
        # thread, so its process moves whole. v2 moves processes only (``cgroup.procs``).
        name = "tasks" if self.version == 1 else "cgroup.procs"
        return ["/bin/sh", "-c", JOIN, "join", *(str(d / name) for d in self.dirs), "--", *argv]

    def pids(self) -> set[int]:
        """Processes in the cgroup now."""
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(FileNotFoundError):
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return found

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process here for exceeding the memory limit."""
        events = self.dirs[0] / ("memory.events" if self.version == 2 else "memory.oom_control")
        return _counter(events, "oom_kill") > 0

    def limit_message(self) -> str:
        """Which limit killed or held back the tree, for the task to say; "" if none.

        Call it once the tree has ended and before :meth:`remove`: the kernel's
        counters go with the cgroup. Both limits can have been hit (a fork bomb
        that also fills memory); then both are named.
        """
        reasons = []
        if self.oom_killed():
            reasons.append(f"killed: memory limit {self.memory_mb} MB reached")
        # pids.events' "max" counts forks refused at pids.max (v1 and v2 alike);
        # the tree may have carried on, but whatever failed next failed for this.
        if _counter(self.dirs[-1] / "pids.events", "max") > 0:
            reasons.append(f"process limit {self.processes} reached")
        return "; ".join(reasons)

    def kill(self) -> None:
        """SIGKILL every process in the cgroup, including ones forked meanwhile."""
        kill_file = self.dirs[0] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            kill_file.write_text("1")
            return
        # v1 has no atomic kill; sweep until empty. A pidfd pins each process so
        # a pid recycled between reading cgroup.procs and the kill is never hit.
        for _ in range(1000):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    continue
                try:
                    if pid in self.pids():
                        signal.pidfd_send_signal(fd, signal.SIGKILL)
                except OSError:
                    pass
                finally:
                    os.close(fd)

    async def remove(self, timeout: float = 5.0) -> None:
        """Kill what is left and remove the cgroup.

        Killed processes leave the cgroup a moment after the signal; v1 offers no
        event for that short of a release agent, so this polls briefly.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.kill()
            try:
                self._rmdir()
                return
            except OSError:
                if loop.time() > deadline:
                    log.warning("could not remove cgroup %s", self.dirs)
                    return
                await asyncio.sleep(0.01)

    def _rmdir(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(FileNotFoundError):
                d.rmdir()
        # Leave nothing behind in the host's hierarchy: the shared parent goes
        # too once it is empty (a busy one refuses, which is fine).
        for d in self.dirs:
            with contextlib.suppress(OSError):
                d.parent.rmdir()
