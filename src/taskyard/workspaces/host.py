"""The ``none`` sandbox: the agent runs as a plain process on the host.

Only for templates that say ``sandbox: none`` explicitly (trusted commands, or
hosts where isolation comes from elsewhere). It still gets its own session so
cancel kills the whole tree, a private home, and a minimal environment.
"""

from __future__ import annotations

import os

from taskyard.workspaces.sandbox import (
    SandboxProcess,
    SandboxProvider,
    SandboxRequest,
    start_process,
)

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class HostProvider(SandboxProvider):
    name = "none"

    async def spawn(self, request: SandboxRequest) -> SandboxProcess:
        path = ":".join(
            [*(str(p) for p in request.readonly_paths), os.environ.get("PATH", BASE_PATH)]
        )
        env = {
            "PATH": path,
            "HOME": str(request.home),
            "TMPDIR": str(request.home / "tmp"),
            "LANG": "C.UTF-8",
            **request.env,
        }
        (request.home / "tmp").mkdir(parents=True, exist_ok=True)
        return await start_process(request.argv, env, request.workdir, request.stdin)
