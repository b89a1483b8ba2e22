"""The interface every sandbox provider implements.

A provider starts one process tree for an agent turn, confined as the request
says, and can kill the whole tree. Time limits (wall-clock, idle) are enforced by
the caller, which reads the output; memory and process limits by the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from taskyard.model import hosts
from taskyard.model.template import Limits, Network
from taskyard.workspaces.netbridge import HostService
from taskyard.workspaces.spawn import kill, spawn

SETPRIV = "/usr/bin/setpriv"


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv``, started so that it gets SIGKILL if the process that started it dies.

    A server killed with -9 must not leave agents (or the embedded Temporal
    server) running: they would keep writing to a checkout the retried
    activity is about to use. ``setpriv`` sets the signal and execs ``argv`` (it
    survives the exec), where a ``preexec_fn`` would do it between fork and exec:
    with one, Python forks the whole server for each process it starts (60 ms for
    400 MB of memory), without one it uses vfork (5 ms).
    """
    return [SETPRIV, "--pdeathsig", "KILL", "--", *argv]


@dataclass
class SandboxRequest:
    argv: list[str]
    env: dict[str, str]
    workdir: Path  # the task's checkout: the only writable project path
    home: Path  # the agent's private home (host path; mounted as HOME)
    task_key: str = ""
    stdin: str | None = None
    limits: Limits = field(default_factory=Limits)
    network: Network = field(default_factory=Network)
    readonly_paths: list[Path] = field(default_factory=list)  # tool caches to expose
    proxy_url: str = ""  # egress proxy for network policy `allowlist`
    # Which non-public addresses the operator lets a template's `network.allow` reach
    # (TASKYARD_OUTBOUND_ALLOWED_HOSTS); by default none.
    reachable: hosts.AllowedHosts = field(default_factory=lambda: hosts.parse("external"))
    image: str = ""  # the template's container image, for providers that run one
    # The objects directory of the repository's mirror, which the checkout borrows
    # from: shown read-only. From the server's records, never from the checkout.
    shared_objects: Path | None = None


class SandboxProcess:
    """A started process tree: merged stdout/stderr lines, wait, kill."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.limit_message = ""
        """Which limit killed or held back the tree ("killed: memory limit 512 MB
        reached"), known once it has ended; "" if none did."""

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    async def wait(self) -> int:
        return await self.process.wait()

    async def kill(self) -> None:
        """Kill the whole process tree and reap it."""
        kill(self.process, group=True)
        await self.process.wait()


@dataclass(frozen=True)
class SandboxInfo:
    """What a sandbox provider does, for people choosing one and for checks.

    Attributes:
        isolates: What it confines, in a few words (shown by ``taskyard`` and the docs).
        isolated: Whether it confines the agent at all: a provider that does not
            (``none``) runs only where the operator allows unsandboxed templates.
        image: Whether it runs the template's ``image`` (a container image).
    """

    isolates: str
    isolated: bool = True
    image: bool = False


class SandboxProvider(ABC):
    """A sandbox kind: registered under ``kind`` in the ``taskyard.sandboxes`` entry points.

    Whether it can run on this host is :meth:`check_available`'s to say.
    """

    kind: ClassVar[str]
    info: ClassVar[SandboxInfo]

    @abstractmethod
    async def spawn(
        self, request: SandboxRequest, services: Sequence[HostService] = ()
    ) -> SandboxProcess:
        """Start ``request.argv`` confined as requested.

        Args:
            request: What to run and how to confine it.
            services: Host services the process must reach (taskyard's gateway, say),
                whatever the network policy. Each one's ``env`` is set with ``{url}``
                and ``{port}`` filled in: ``127.0.0.1:<port>`` in a network of the
                sandbox's own, the service's own address where it shares the host's.
        """

    def check_available(self) -> None:  # noqa: B027 - most providers need no check
        """Raise ``InvalidInput`` with install instructions if this host cannot run it."""


async def start_process(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None
) -> SandboxProcess:
    """Start a process in its own session (so the tree can be killed as one)."""
    process = await spawn(
        *dying_with_parent(argv),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        limit=1 << 24,
    )
    if stdin is not None and process.stdin is not None:
        # An agent may exit without reading its prompt from stdin; that is its right.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(stdin.encode())
            await process.stdin.drain()
        process.stdin.close()
    return SandboxProcess(process)
