"""The status MCP endpoint over streamable HTTP, as an MCP client sees it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import Event, Task
from taskyard.db.session import session_scope
from taskyard.gateway import Gateway
from tests.gateway.conftest import finish, issue
from tests.test_mcp import BAD_INPUT

ACCEPT = {"Accept": "application/json, text/event-stream"}


def rpc(method: str, params: dict[str, Any] | None = None, id_: int | None = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    if id_ is not None:
        message["id"] = id_
    return message


async def post(gateway: Gateway, path: str, body: Any, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        return await client.post(path, json=body, headers={**ACCEPT, **headers})


def reported(settings: Settings, task_id: int) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    with session_scope(settings.resolved_database_url, write=False) as session:
        events = [
            e.data
            for e in session.query(Event).filter(Event.task_id == task_id, Event.kind == "agent")
        ]
        row = session.get(Task, task_id)
        assert row is not None
        return events, (row.agent_state, row.agent_message)


async def test_a_session_from_initialize_to_report_status(
    gateway: Gateway, task: Task, gw_settings: Settings
) -> None:
    path = f"/mcp/{issue(gateway, task)}"
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}
    response = await post(gateway, path, rpc("initialize", hello))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    init = response.json()
    assert init["id"] == 1 and init["result"]["protocolVersion"] == "2025-06-18"
    assert init["result"]["capabilities"] == {"tools": {"listChanged": False}}
    assert init["result"]["serverInfo"]["name"] == "taskyard"

    version = {"MCP-Protocol-Version": "2025-06-18"}
    initialized = await post(gateway, path, rpc("notifications/initialized", id_=None), **version)
    assert (initialized.status_code, initialized.content) == (202, b"")
    assert (await post(gateway, path, rpc("ping", id_=2), **version)).json()["result"] == {}

    tools = (await post(gateway, path, rpc("tools/list", id_=3), **version)).json()["result"]
    [tool] = tools["tools"]
    assert tool["name"] == "report_status"
    assert tool["inputSchema"]["properties"]["state"]["enum"] == [
        "working",
        "idle",
        "complete",
        "failure",
    ]

    call = {"name": "report_status", "arguments": {"state": "working", "summary": "Reading code"}}
    result = (await post(gateway, path, rpc("tools/call", call, id_=4), **version)).json()
    assert result == {
        "jsonrpc": "2.0",
        "id": 4,
        "result": {"content": [{"type": "text", "text": "Reported working."}], "isError": False},
    }
    events, fields = await asyncio.to_thread(reported, gw_settings, task.id)
    assert events == [
        {"type": "state", "state": "working", "message": "Reading code", "reported": True}
    ]
    assert fields == ("working", "Reading code")


async def test_newer_and_unknown_protocol_versions(gateway: Gateway, task: Task) -> None:
    path = f"/mcp/{issue(gateway, task)}"
    future = await post(gateway, path, rpc("initialize", {"protocolVersion": "2099-01-01"}))
    assert future.json()["result"]["protocolVersion"] == "2025-11-25"  # ours, newest first
    refused = await post(gateway, path, rpc("ping"), **{"MCP-Protocol-Version": "1999-01-01"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Unsupported protocol version 1999-01-01."


async def test_the_credential_may_come_as_a_bearer_header(
    gateway: Gateway, task: Task, gw_settings: Settings
) -> None:
    credential = issue(gateway, task)
    call = {"name": "report_status", "arguments": {"state": "complete", "summary": "Done"}}
    response = await post(
        gateway, "/mcp", rpc("tools/call", call), Authorization=f"Bearer {credential}"
    )
    assert response.json()["result"]["isError"] is False
    assert (await asyncio.to_thread(reported, gw_settings, task.id))[1] == ("complete", "Done")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"state": "sleeping", "summary": "zz"}, "state must be one of"),
        ({"state": "idle"}, "Missing required argument(s): summary."),
        ({"state": "idle", "summary": "   "}, "summary must not be empty."),
        ({"state": "idle", "summary": 7}, "summary must be a string."),
        ({"state": "idle", "summary": "ok", "mood": "fine"}, "Unknown argument(s): mood"),
    ],
)
async def test_bad_arguments_are_tool_errors_the_model_can_fix(
    gateway: Gateway, task: Task, gw_settings: Settings, arguments: dict[str, Any], message: str
) -> None:
    call = {"name": "report_status", "arguments": arguments}
    result = (await post(gateway, f"/mcp/{issue(gateway, task)}", rpc("tools/call", call))).json()
    assert result["result"]["isError"] is True
    assert message in result["result"]["content"][0]["text"]
    assert (await asyncio.to_thread(reported, gw_settings, task.id))[0] == []


async def test_protocol_errors(gateway: Gateway, task: Task) -> None:
    path = f"/mcp/{issue(gateway, task)}"
    unknown = (await post(gateway, path, rpc("resources/list"))).json()
    assert unknown["error"]["code"] == -32601
    no_tool = (await post(gateway, path, rpc("tools/call", {"name": "rm_rf"}))).json()
    assert no_tool["error"]["code"] == -32602
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        garbage = await client.post(path, content=b"{not json", headers=ACCEPT)
        assert (garbage.status_code, garbage.json()["error"]["code"]) == (400, -32700)
        # No server-initiated stream, no sessions to delete: both optional in the spec.
        assert (await client.get(path, headers={"Accept": "text/event-stream"})).status_code == 405
        assert (await client.delete(path)).status_code == 405
    invalid = await post(gateway, path, {"jsonrpc": "1.0", "method": "ping", "id": 1})
    assert invalid.status_code == 400


async def test_bad_input_is_answered_with_errors(gateway: Gateway, task: Task) -> None:
    path = f"/mcp/{issue(gateway, task)}"
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        for raw, code, status in BAD_INPUT:
            response = await client.post(path, content=raw, headers=ACCEPT)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        huge = await client.post(path, content=b"x" * (3 << 20), headers=ACCEPT)
        assert huge.status_code == 413
        assert huge.json()["error"]["message"].startswith("Message too large")
        assert (await client.post(path, json=rpc("ping"), headers=ACCEPT)).json()["result"] == {}


async def test_batches_of_the_2025_03_26_revision(gateway: Gateway, task: Task) -> None:
    path = f"/mcp/{issue(gateway, task)}"
    batch = [rpc("ping", id_=1), rpc("notifications/initialized", id_=None), rpc("ping", id_=2)]
    replies = (await post(gateway, path, batch)).json()
    assert [r["id"] for r in replies] == [1, 2]


async def test_unknown_revoked_and_ended_credentials(
    gateway: Gateway, task: Task, gw_settings: Settings
) -> None:
    assert (await post(gateway, "/mcp/tyc_nope", rpc("ping"))).status_code == 401
    assert (await post(gateway, "/mcp", rpc("ping"))).status_code == 401
    revoked = issue(gateway, task)
    gateway.credentials.revoke(revoked)
    assert (await post(gateway, f"/mcp/{revoked}", rpc("ping"))).status_code == 401

    credential = issue(gateway, task)
    await asyncio.to_thread(finish, gw_settings, task.id)
    call = {"name": "report_status", "arguments": {"state": "complete", "summary": "late"}}
    late = (await post(gateway, f"/mcp/{credential}", rpc("tools/call", call))).json()
    assert late["result"]["isError"] is True
    assert (await post(gateway, f"/mcp/{credential}", rpc("ping"))).status_code == 401
    assert (await asyncio.to_thread(reported, gw_settings, task.id))[0] == []
