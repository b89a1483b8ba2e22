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
- new pid, ipc, uts, cgroup, user and (unless policy ``full``) network
  namespaces, no capabilities, no further user namespaces (bwrap 0.8+).

Network: ``none`` has only its own loopback; ``full`` shares the host's;
``allowlist`` has only its own loopback plus ``HTTP(S)_PROXY`` pointing at an
:class:`~taskyard.workspaces.egress.EgressProxy` for this sandbox, carried in by
:mod:`taskyard.workspaces.netbridge`.

Memory and process limits come from a per-sandbox cgroup (see
:mod:`taskyard.workspaces.cgroups`), which also kills the whole tree. Where no
cgroup can be created, the limits fall back to rlimits: ``RLIMIT_AS`` for
memory (address space, which over-counts for runtimes that reserve a lot, such
as node) and, unless the server runs as root, ``RLIMIT_NPROC`` for processes
(per user, not per sandbox); running as root without a cgroup leaves the
process count unlimited. The pid namespace still lets kill take the whole tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from taskyard.config import get_settings
from taskyard.errors import InvalidInput
from taskyard.services.template_spec import Limits
from taskyard.workspaces.cgroups import CGROUP_ROOT, Cgroup
from taskyard.workspaces.egress import EgressProxy, proxy_service
from taskyard.workspaces.netbridge import SANDBOX_RUN_DIR, Bridge, HostService
from taskyard.workspaces.repos import borrowed_objects
from taskyard.workspaces.sandbox import (
    SandboxProcess,
    SandboxProvider,
    SandboxRequest,
    die_with_parent,
)

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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
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

    name = "bubblewrap"

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
            raise InvalidInput(
                "bwrap missing: install it with `apt-get install bubblewrap`, "
                "or set `sandbox: none` in the template."
            )

    def hidden_paths(self) -> list[Path]:
        """The data directory and the extra ``hide`` paths, resolved."""
        return [p.resolve() for p in (get_settings().data_dir, *self.hide)]

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
                proxy = EgressProxy(request.network.allow, socket_path=runtime_dir / "egress.sock")
                await proxy.start()
                services.append(proxy_service(runtime_dir / "egress.sock"))
            bridge = Bridge(
                services, runtime_dir, shared_network=policy == "full", python=self.python
            )
            await bridge.start()
            request.home.mkdir(parents=True, exist_ok=True)
            argv = [
                self.bwrap,
                *self.bwrap_args(request, bridge),
                "--",
                *bridge.command(request.argv),
            ]
            env = {**self.base_env(request), **request.env, **bridge.env()}
            limits = request.limits
            cgroup = Cgroup.create(
                request.task_key or "sandbox",
                memory_mb=limits.memory_mb,
                processes=limits.processes,
                root=self.cgroup_root,
            )
            process = await asyncio.create_subprocess_exec(
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
                preexec_fn=_preexec(cgroup, limits),
                limit=1 << 24,
            )
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
        """The bwrap options (mounts first, in order: later ones cover earlier ones)."""
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        # /run too: it holds the host's service sockets (docker.sock, D-Bus).
        args += ["--tmpfs", "/tmp", "--tmpfs", "/run"]
        resolv = Path("/etc/resolv.conf").resolve()
        if request.network.policy == "full" and resolv.is_relative_to("/run"):
            args += ["--ro-bind", str(resolv), str(resolv)]
        hidden = self.hidden_paths()
        for path in hidden:
            if path.is_dir():
                args += ["--tmpfs", str(path)]
            elif path.exists():
                args += ["--ro-bind", "/dev/null", str(path)]
        # The forwarder's interpreter must stay visible even if it lives in a hidden place.
        covered = [*hidden, Path("/tmp"), Path("/run")]
        for prefix in {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}:
            if any(prefix.is_relative_to(h) for h in covered):
                args += ["--ro-bind", str(prefix), str(prefix)]
        for path in request.readonly_paths:
            args += ["--ro-bind", str(path), str(path)]
        # git in the checkout reads its objects from the repository's mirror, which
        # lives in the hidden data dir: show exactly those objects, read-only.
        for path in borrowed_objects(request.workdir):
            args += ["--ro-bind", str(path), str(path)]
        for path in (request.workdir, request.home):
            args += ["--bind", str(path), str(path)]
        args += ["--dir", str(SANDBOX_RUN_DIR), *bridge.bwrap_args()]
        # Last, once the binds above have their mount points: writes to a hiding
        # tmpfs would vanish with the sandbox, so refuse them instead.
        for path in hidden:
            if path.is_dir():
                args += ["--remount-ro", str(path)]
        args += ["--remount-ro", "/run"]
        args += ["--chdir", str(request.workdir), "--hostname", "sandbox"]
        args += ["--unshare-all", "--unshare-user"]
        if _bwrap_version(self.bwrap) >= (0, 8):
            args.append("--disable-userns")
        if request.network.policy == "full":
            args.append("--share-net")
        # As root, bwrap keeps every capability in the sandbox's user namespace
        # unless told otherwise; with them the agent could unmount the tmpfs that
        # hides the data directory, or remount / read-write.
        args += ["--cap-drop", "ALL", "--die-with-parent", "--new-session"]
        return args


@functools.cache
def _bwrap_version(bwrap: str) -> tuple[int, ...]:
    """bwrap's version, as numbers (``(0, 8, 0)``); ``()`` if it does not say."""
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    match = re.search(r"(\d+(?:\.\d+)+)", out.stdout)
    return tuple(int(n) for n in match.group(1).split(".")) if match else ()


def _preexec(cgroup: Cgroup | None, limits: Limits) -> Callable[[], None]:
    def preexec() -> None:
        die_with_parent()
        if cgroup is not None:
            cgroup.join()
            return
        memory = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if os.getuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec
