"""The ``marked`` sandbox: a host process, marked so that it shows where it ran.

It runs what it is given as taskyard's ``none`` provider does, with
``TASKYARD_SANDBOX_MARK`` set, and writes one line per process it starts to
``$ECHO_SANDBOX_LOG`` if the server has that set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from taskyard.workspaces.host import HostProvider
from taskyard.workspaces.netbridge import HostService
from taskyard.workspaces.sandbox import SandboxInfo, SandboxProcess, SandboxRequest

MARK = "the marked sandbox"


class MarkedSandbox(HostProvider):
    kind = "marked"
    info = SandboxInfo(isolates="nothing: a marked host process", isolated=False)

    async def spawn(
        self, request: SandboxRequest, services: Sequence[HostService] = ()
    ) -> SandboxProcess:
        log = os.environ.get("ECHO_SANDBOX_LOG")
        if log:
            with open(log, "a") as out:
                out.write(f"{request.task_key} {request.argv[0]}\n")
        marked = replace(request, env={**request.env, "TASKYARD_SANDBOX_MARK": MARK})
        return await super().spawn(marked, services)
