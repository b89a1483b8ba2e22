"""Where a benchmark's CPU went: the server, the processes it ran, Temporal, the machine.

Read from /proc before and after a phase: a process's own time, and the time of the
children it has waited for (git, bubblewrap, the agents), which the kernel adds to it
once they end. Linux only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Times:
    """CPU seconds so far: the server's own, its ended children's, Temporal's, and every
    core of the machine's busy time (all processes, the kernel's work included)."""

    server: float
    children: float
    temporal: float
    machine: float

    def __sub__(self, before: Times) -> Times:
        return Times(
            self.server - before.server,
            self.children - before.children,
            self.temporal - before.temporal,
            self.machine - before.machine,
        )


def _stat(pid: int) -> tuple[str, int, float, float]:
    """Name, parent, own CPU seconds, ended children's CPU seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    own = (int(fields[11]) + int(fields[12])) / TICK
    waited = (int(fields[13]) + int(fields[14])) / TICK
    return name, int(fields[1]), own, waited


def _machine_busy() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK  # less idle and iowait


def times(server: Sequence[int]) -> Times:
    """:class:`Times` now, for the server's processes ``server`` and the Temporal dev server
    that one of them, or this benchmark, started."""
    own = waited = 0.0
    for pid in server:
        _, _, cpu, children = _stat(pid)
        own, waited = own + cpu, waited + children
    parents = {*server, os.getpid()}
    temporal = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name, parent, cpu, _ = _stat(int(entry))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # ended meanwhile
        if parent in parents and name == "temporal":
            temporal += cpu
    return Times(own, waited, temporal, _machine_busy())


def report(name: str, spent: Times, tasks: int, wall: float) -> None:
    """CPU per task, and how busy the machine's cores were."""
    per = {
        "server": spent.server,
        "its processes": spent.children,
        "Temporal": spent.temporal,
        "machine": spent.machine,
    }
    parts = ", ".join(f"{label} {seconds / tasks * 1000:.0f}" for label, seconds in per.items())
    busy = spent.machine / (wall * (os.cpu_count() or 1))
    print(f"  {name:<11} CPU per task, ms: {parts}; cores {busy:.0%} busy")
