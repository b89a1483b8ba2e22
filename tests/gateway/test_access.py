"""What a turn gets from the gateway, and host processes reaching bridged services."""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

import taskyard.gateway
from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.gateway import Gateway, TurnAccess, turn_access
from taskyard.workspaces.host import HostProvider
from taskyard.workspaces.netbridge import HostService
from taskyard.workspaces.sandbox import SandboxRequest
from tests.gateway.test_mcp_status import post, reported, rpc


def access_for(
    gateway: Gateway | None, task: Task, kind: str, secrets: tuple[str, ...] = ()
) -> AbstractContextManager[TurnAccess]:
    return turn_access(
        gateway,
        task_id=task.id,
        task_key=task.key,
        org_id=task.org_id,
        run_id=0,
        agent_kind=kind,
        secrets=secrets,
    )


async def test_a_turn_credential_lives_as_long_as_the_turn(gateway: Gateway, task: Task) -> None:
    with access_for(gateway, task, "claude-code") as access:
        assert access.credential.startswith("tyc_")
        assert access.model_base_url == f"http://127.0.0.1:{gateway.port}/anthropic"
        assert access.mcp_url == f"http://127.0.0.1:{gateway.port}/mcp/{access.credential}"
        assert access.services == [
            HostService("gateway", f"127.0.0.1:{gateway.port}", gateway.port)
        ]
        assert gateway.credentials.lookup(access.credential) is not None
        assert access.redactor.text(f"key={access.credential}") == "key=[REDACTED]"
    assert gateway.credentials.lookup(access.credential) is None
    assert len(gateway.credentials) == 0


async def test_each_agent_kind_gets_its_own_provider(gateway: Gateway, task: Task) -> None:
    with (
        access_for(gateway, task, "codex") as codex,
        access_for(gateway, task, "aider") as aider,
        access_for(gateway, task, "gemini") as gemini,
        access_for(gateway, task, "command") as command,
    ):
        assert codex.model_base_url.endswith("/openai/v1")
        assert aider.model_base_url.endswith("/openai/v1")  # chat completions
        assert gemini.model_base_url.endswith("/google")
        assert gateway.credentials.lookup(codex.credential).provider == "openai"  # type: ignore[union-attr]
        # An agent without a model still reports its state.
        assert command.model_base_url == "" and command.mcp_url.endswith(command.credential)
    assert len(gateway.credentials) == 0


async def test_without_a_gateway_a_turn_gets_nothing(task: Task) -> None:
    with access_for(None, task, "claude-code", ("s3cret-value",)) as access:
        assert access == TurnAccess(redactor=access.redactor)
        assert access.redactor.text("s3cret-value") == "[REDACTED]"


async def test_reported_summaries_are_redacted(
    gateway: Gateway, task: Task, gw_settings: Settings
) -> None:
    with access_for(gateway, task, "claude-code", ("hunter2-password",)) as access:
        call = {
            "name": "report_status",
            "arguments": {"state": "failure", "summary": "login hunter2-password refused"},
        }
        await post(gateway, f"/mcp/{access.credential}", rpc("tools/call", call))
    _, fields = await asyncio.to_thread(reported, gw_settings, task.id)
    assert fields == ("failure", "login [REDACTED] refused")


async def test_host_processes_reach_tcp_and_unix_socket_services(
    gateway: Gateway, tmp_path: Path
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    sock = tmp_path / "svc.sock"

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        await writer.drain()
        writer.close()

    unix = await asyncio.start_unix_server(hello, sock)
    services = [
        # Loopback TCP is used as it is (the port inside a sandbox does not apply).
        HostService("gateway", f"127.0.0.1:{gateway.port}", 1, {"GW": "{url}"}),
        # A Unix socket gets a loopback relay for as long as the process lives.
        HostService("svc", sock, 2, {"SVC": "{url}"}),
    ]
    fetch = "import os, urllib.request as u; print(u.urlopen(os.environ['SVC']).read().decode())"
    script = f'echo "$GW $SVC"; python3 -c "{fetch}"'
    request = SandboxRequest(argv=["/bin/sh", "-c", script], env={}, workdir=work, home=home)
    try:
        process = await HostProvider().spawn(request, services)
        out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
        assert await process.wait() == 0, out
    finally:
        unix.close()
    urls, answer = out.splitlines()
    gateway_url, relay_url = urls.split()
    assert gateway_url == gateway.url and answer == "hello"
    async with httpx.AsyncClient(timeout=30) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(relay_url)  # the relay went with the process


def test_public_names_are_pinned() -> None:
    assert taskyard.gateway.__all__ == [
        "PROVIDERS",
        "CredentialStore",
        "Gateway",
        "Grant",
        "Provider",
        "TurnAccess",
        "new_credential",
        "provider_for_agent",
        "turn_access",
    ]
