"""The ``bubblewrap`` sandbox: the agent in its own namespaces, on a read-only host.

What the agent sees:

- the host filesystem read-only, except: the taskyard data directory (database,
  secrets key, other tasks' checkouts) and any extra ``hide`` paths, which are
  covered by empty tmpfs (or /dev/null, for files); a private ``/tmp`` and ``/run``;
  fresh ``/proc`` and ``/dev``;
- its checkout (``request.workdir``) and home (``request.home``) writable, at
  their host paths (bound back after the data directory is hidden);
- ``request.readonly_paths`` (tool caches) read-only, their ``bin`` on PATH;
- an environment of PATH, HOME, LANG, TMPDIR and ``request.env`` only;
- new pid, ipc, uts, cgroup and (unless policy ``full``) network namespaces, no
  capabilities, and an unprivileged uid (see below).

Who the agent is: a server running as root starts bwrap as root (so it can reach
every path it binds, even under a 0700 home) without a user namespace, and the
sandbox's first command, ``setpriv``, becomes ``Settings.sandbox_uid`` with no
groups and an empty capability bounding set. The agent is then an ordinary
unprivileged user on the host: root's files are as closed to it as to any other
user, and it owns only its checkout and home. A server that is not root runs
bwrap in a user namespace as itself, as any unprivileged user would.

Network: ``none`` has only its own loopback; ``full`` shares the host's;
``allowlist`` has only its own loopback plus ``HTTP(S)_PROXY`` pointing at an
:class:`~taskyard.workspaces.egress.EgressProxy` for this sandbox, carried in by
:mod:`taskyard.workspaces.netbridge`: a root server listens inside the sandbox's network
itself (:mod:`taskyard.workspaces.bwrap_netns`), an unprivileged one starts a forwarder there.

Memory and process limits come from a per-sandbox cgroup (see
:mod:`taskyard.workspaces.cgroups`), which also kills the whole tree. Where no
cgroup can be created, the limits fall back to rlimits: ``RLIMIT_AS`` for
memory (address space, which over-counts for runtimes that reserve a lot, such
as node) and ``RLIMIT_NPROC`` for processes (per user, so shared by every
sandbox of the same uid). The pid namespace still lets kill take the whole tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from taskyard.model.errors import InvalidInput
from taskyard.model.template import Limits
from taskyard.workspaces.bwrap_layout import (
    REAPER,
    become_sandbox_user,
    bwrap_args,
    hidden_paths,
)
from taskyard.workspaces.bwrap_netns import HeldStart, held_start
from taskyard.workspaces.cgroups import CGROUP_ROOT, Cgroup
from taskyard.workspaces.egress import EgressProxy, proxy_service
from taskyard.workspaces.files import make_owned_dir, sandbox_ids
from taskyard.workspaces.netbridge import Bridge, HostService
from taskyard.workspaces.sandbox import (
    SETPRIV,
    SandboxInfo,
    SandboxProcess,
    SandboxProvider,
    SandboxRequest,
    dying_with_parent,
)
from taskyard.workspaces.seccomp import seccomp_fd
from taskyard.workspaces.spawn import kill, spawn

PRLIMIT = "/usr/bin/prlimit"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BubblewrapProcess(SandboxProcess):
    """A sandboxed tree; releases its cgroup, proxy and sockets once it has ended."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        cgroup: Cgroup | None,
        cleanup: Callable[[], Awaitable[None]],
        stdin: str | None = None,
    ) -> None:
        super().__init__(process)
        self.cgroup = cgroup
        self.oom_killed = False
        """Whether the memory limit killed a process of the tree (known after wait)."""
        # Fed in the background: an agent that reads its input late (or never)
        # must not hold up spawn, or the caller could not even kill it.
        self._feeding = asyncio.ensure_future(self._feed(stdin)) if stdin is not None else None
        self._ended = asyncio.ensure_future(self._reap(cleanup))

    async def _feed(self, data: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data.encode())
        with contextlib.suppress(ConnectionError):
            await self.process.stdin.drain()
        self.process.stdin.close()

    async def _reap(self, cleanup: Callable[[], Awaitable[None]]) -> int:
        code = await self.process.wait()
        try:
            if self.cgroup is not None:
                self.oom_killed = self.cgroup.oom_killed()
                self.limit_message = self.cgroup.limit_message()
                await self.cgroup.remove()
        finally:
            await cleanup()
        return code

    async def wait(self) -> int:
        # Shielded: a caller's cancelled wait must not abandon the cleanup.
        return await asyncio.shield(self._ended)

    async def kill(self) -> None:
        """Kill every process of the sandbox and release its resources."""
        if self.cgroup is not None:
            self.cgroup.kill()
        # bwrap's init dies with it, and the kernel then kills its pid namespace:
        # this covers the tree even without a cgroup.
        if self.process.returncode is None:  # once reaped, the pid may be someone else's
            kill(self.process, group=True)
        await asyncio.shield(self._ended)


class BubblewrapProvider(SandboxProvider):
    """Runs agents under bubblewrap (``bwrap``).

    Args:
        hide: Host paths to hide besides the data directory (say, the server
            user's home, if it holds credentials).
        bwrap: The bwrap executable.
        cgroup_root: Where the cgroup hierarchies are mounted.
        python: Interpreter that runs the in-sandbox network forwarder.
    """

    kind = "bubblewrap"
    info = SandboxInfo(
        isolates="files, network, processes and identity (namespaces, seccomp), "
        "memory and process counts (cgroups)"
    )

    def __init__(
        self,
        *,
        hide: Sequence[Path] = (),
        bwrap: str = "bwrap",
        cgroup_root: Path = CGROUP_ROOT,
        python: str = sys.executable,
    ) -> None:
        self.hide = list(hide)
        self.bwrap = bwrap
        self.cgroup_root = cgroup_root
        self.python = python

    def check_available(self) -> None:
        if shutil.which(self.bwrap) is None:
            raise InvalidInput("bwrap missing: install it with `apt-get install bubblewrap`.")
        if shutil.which(SETPRIV) is None or shutil.which(PRLIMIT) is None:
            raise InvalidInput(
                "setpriv or prlimit missing: install them with `apt-get install util-linux`."
            )

    def hidden_paths(self) -> list[Path]:
        """What no sandbox of this provider sees (see :func:`.bwrap_layout.hidden_paths`)."""
        return hidden_paths(self.hide)

    async def spawn(
        self, request: SandboxRequest, services: Sequence[HostService] = ()
    ) -> BubblewrapProcess:
        """Start ``request.argv`` in a sandbox.

        Args:
            request: What to run and how to confine it.
            services: Further host services to carry in (say, a model-API proxy),
                reachable on their ``port`` inside whatever the network policy.
        """
        self.check_available()
        runtime_dir = Path(tempfile.mkdtemp(prefix="taskyard-sandbox-"))
        proxy: EgressProxy | None = None
        bridge: Bridge | None = None
        cgroup: Cgroup | None = None

        async def cleanup() -> None:
            if bridge is not None:
                await bridge.close()
            if proxy is not None:
                await proxy.close()
            shutil.rmtree(runtime_dir, ignore_errors=True)

        try:
            services = list(services)
            policy = request.network.policy
            # A proxy_url names an egress proxy the caller runs (and whose
            # allowlist it enforces); otherwise this sandbox gets its own.
            if policy == "allowlist" and request.proxy_url:
                url = urlsplit(request.proxy_url)
                services.append(proxy_service(f"{url.hostname}:{url.port or 80}"))
            elif policy == "allowlist":
                proxy = EgressProxy(
                    request.network.allow,
                    ports=request.network.ports,
                    socket_path=runtime_dir / "egress.sock",
                    reachable=request.reachable,
                )
                await proxy.start()
                # The agent's uid must be able to connect; the private runtime
                # directory (0700) keeps everyone else out on the host.
                os.chmod(runtime_dir / "egress.sock", 0o666)
                services.append(proxy_service(runtime_dir / "egress.sock"))
            bridge = Bridge(
                services,
                runtime_dir,
                shared_network=policy == "full",
                python=self.python,
                # Root enters the sandbox's network to listen there: no forwarder inside.
                from_host=sandbox_ids() is not None,
            )
            await bridge.start()
            make_owned_dir(request.home)
            env = {**self.base_env(request), **request.env, **bridge.env()}
            limits = request.limits
            cgroup = Cgroup.create(
                request.task_key or "sandbox",
                memory_mb=limits.memory_mb,
                processes=limits.processes,
                root=self.cgroup_root,
            )
            with seccomp_fd() as seccomp, held_start() as held:
                attaching = bridge.attaches
                argv = [
                    self.bwrap,
                    *self.bwrap_args(request, bridge),
                    "--seccomp",
                    str(seccomp),
                    *(held.args if attaching else []),
                    "--",
                    *become_sandbox_user(),
                    *bridge.command([*REAPER, *request.argv]),
                ]
                argv = _confined(cgroup, limits, argv)
                process = await spawn(
                    *argv,
                    cwd="/",
                    # Given as the process environment, not as --setenv arguments:
                    # /proc/<pid>/cmdline is readable by every user, environ is not.
                    env=env,
                    stdin=asyncio.subprocess.PIPE
                    if request.stdin is not None
                    else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(seccomp, *held.fds) if attaching else (seccomp,),
                    limit=1 << 24,
                )
                if attaching:
                    await _attach(process, held, bridge)
        except BaseException:
            if cgroup is not None:
                await cgroup.remove()
            await cleanup()
            raise
        return BubblewrapProcess(process, cgroup, cleanup, request.stdin)

    def base_env(self, request: SandboxRequest) -> dict[str, str]:
        """The environment every sandbox starts from."""
        tools = [p / "bin" if (p / "bin").is_dir() else p for p in request.readonly_paths]
        return {
            "PATH": ":".join([*(str(p) for p in tools), BASE_PATH]),
            "HOME": str(request.home),
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
        }

    def bwrap_args(self, request: SandboxRequest, bridge: Bridge) -> list[str]:
        """The bwrap options for ``request`` (see :mod:`.bwrap_layout`)."""
        return bwrap_args(request, bridge, self.hidden_paths(), self.bwrap)


async def _attach(process: asyncio.subprocess.Process, held: HeldStart, bridge: Bridge) -> None:
    """Serve the sandbox's services inside it (:mod:`.bwrap_netns`), then let it start."""
    held.started()
    try:
        await bridge.attach(await held.child_pid())
    except BaseException:
        # Killed before its block pipe closes, which bwrap would take for a go.
        kill(process, group=True)
        await process.wait()
        raise
    held.release()


def _confined(cgroup: Cgroup | None, limits: Limits, argv: list[str]) -> list[str]:
    """``argv`` (bwrap's) under the sandbox's limits from its first instruction, dying
    with the server: in its cgroup or, without one, under rlimits.

    Without a ``preexec_fn`` (see :func:`.sandbox.dying_with_parent`).
    """
    if cgroup is not None:
        return dying_with_parent(cgroup.joining(argv))
    memory = limits.memory_mb << 20
    # RLIMIT_NPROC is per user, not per sandbox; it binds the sandbox user (root is exempt).
    rlimits = [PRLIMIT, f"--as={memory}", f"--nproc={limits.processes}", "--"]
    return dying_with_parent([*rlimits, *argv])
