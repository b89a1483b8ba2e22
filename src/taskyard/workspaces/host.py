"""The ``none`` sandbox: the agent runs as a plain process on the host.

Only for templates that say ``sandbox: none`` explicitly (trusted commands, or
hosts where isolation comes from elsewhere). It still gets its own session so
cancel kills the whole tree, a private home, and a minimal environment.

Host services need no bridge: a host process reaches loopback TCP services
directly. Only services behind a Unix socket get a loopback relay, for as long
as the process lives.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from taskyard.workspaces.netbridge import Bridge, HostService
from taskyard.workspaces.sandbox import (
    SandboxInfo,
    SandboxProcess,
    SandboxProvider,
    SandboxRequest,
    start_process,
)

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class HostProcess(SandboxProcess):
    """A host process tree; closes its service relays once it has ended."""

    def __init__(self, started: SandboxProcess, bridge: Bridge) -> None:
        super().__init__(started.process)
        self._ended = asyncio.ensure_future(self._reap(bridge))

    async def _reap(self, bridge: Bridge) -> int:
        try:
            return await self.process.wait()
        finally:
            await bridge.close()

    async def wait(self) -> int:
        # Shielded: a caller's cancelled wait must not abandon closing the relays.
        return await asyncio.shield(self._ended)

    async def kill(self) -> None:
        await super().kill()
        await asyncio.shield(self._ended)


class HostProvider(SandboxProvider):
    """Runs agents as plain host processes (``sandbox: none``)."""

    kind = "none"
    info = SandboxInfo(
        isolates="nothing: a process of the server's user, in a session of its own",
        isolated=False,
    )

    async def spawn(
        self, request: SandboxRequest, services: Sequence[HostService] = ()
    ) -> SandboxProcess:
        path = ":".join(
            [*(str(p) for p in request.readonly_paths), os.environ.get("PATH", BASE_PATH)]
        )
        # Sharing the host's network: TCP services are used as they are, and the
        # runtime directory (for relays into a private network) is never used.
        bridge = Bridge(services, request.home, shared_network=True)
        await bridge.start()
        env = {
            "PATH": path,
            "HOME": str(request.home),
            "TMPDIR": str(request.home / "tmp"),
            "LANG": "C.UTF-8",
            **request.env,
            **bridge.env(),
        }
        try:
            (request.home / "tmp").mkdir(parents=True, exist_ok=True)
            started = await start_process(request.argv, env, request.workdir, request.stdin)
        except BaseException:
            await bridge.close()
            raise
        return HostProcess(started, bridge)
