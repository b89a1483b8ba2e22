"""A root server listens inside its sandboxes' networks itself: no forwarder runs in them.

Against real bwrap: the services a sandbox reaches are served from the host's event
loop through sockets bound in the sandbox's own network namespace, before its command
starts; the threads that entered the namespace are gone; a sandbox whose listeners
cannot be made never runs its command.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from tests.workspaces.conftest import Dirs
from tests.workspaces.test_bubblewrap import FETCH, request_for

from taskyard.model.template import Network
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.netbridge import HostService

pytestmark = pytest.mark.skipif(
    sandbox_ids() is None, reason="only a server running as root enters a sandbox's network"
)

# The agent's very first instruction connects, then it lists every process it can see.
FIRST_THING = (
    "python3 -c '" + FETCH + "' http://127.0.0.1:8080/; "
    "for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline; echo; done"
)


def _namespaces() -> set[str]:
    """The network namespace of every thread of this process."""
    tasks = os.listdir("/proc/self/task")
    return {os.readlink(f"/proc/self/task/{tid}/ns/net") for tid in tasks}


async def test_a_service_answers_the_agents_first_call_and_nothing_else_runs_inside(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    api = HostService("api", f"127.0.0.1:{host_server}", 8080)
    request = request_for(dirs, FIRST_THING, network=Network(policy="allowlist", allow=[]))

    process = await provider.spawn(request, services=[api])
    out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()

    assert await process.wait() == 0
    lines = out.splitlines()
    assert lines[0] == "hello-from-host"  # listening before the agent's first instruction
    # bwrap's init, the reaper and the agent's own processes: no forwarder, no interpreter
    # of the server's.
    assert not [line for line in lines[1:] if "forwarder.py --" in line]
    assert _namespaces() == {os.readlink("/proc/self/ns/net")}  # no thread stayed inside


async def test_a_sandbox_whose_listeners_cannot_be_made_never_runs_its_command(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    # Two services on one port: the second bind fails inside the sandbox's network.
    first = HostService("one", f"127.0.0.1:{host_server}", 8080)
    second = HostService("two", f"127.0.0.1:{host_server}", 8080)
    marker = dirs.checkout / "ran"
    request = request_for(dirs, f"touch {marker}", network=Network(policy="none"))

    with pytest.raises(OSError, match="Address already in use"):
        await provider.spawn(request, services=[first, second])

    assert not marker.exists()
    assert not list(dirs.data.glob("../taskyard-sandbox-*/*.sock"))
