"""``taskyard mcp`` as an assistant runs it: a subprocess speaking MCP over stdio.

The API it calls is real: in-process on loopback without the engine (see
``tests/test_sdk.py``), so tasks are created with ``run: false``; one test runs against
the real engine and takes a task through its approval gates. :data:`BAD_INPUT` is what
the one MCP core must answer with an error on either transport; the gateway's status
endpoint is sent the same in ``tests/gateway/test_mcp_status.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskyard.mcp
from taskyard.mcp import MAX_MESSAGE_BYTES, PROTOCOL_VERSIONS
from taskyard.mcp.tasks import SERVER
from taskyard.sdk import Client
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer
from tests.test_sdk import TEMPLATE, TOKEN, make_app, serve

TASKYARD = str(Path(sys.executable).with_name("taskyard"))

_PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"'
#: (message, JSON-RPC error code, HTTP status of the streamable HTTP transport).
BAD_INPUT = [
    (b"{not json", -32700, 400),
    (b"\xc3\x28", -32700, 400),  # not UTF-8
    (b"[" * 100_000, -32700, 400),  # deeper than the parser's stack
    (b'{"jsonrpc":"2.0","id":NaN,"method":"ping"}', -32700, 400),  # no JSON can echo NaN
    (b'"ping"', -32600, 400),
    (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600, 400),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, 400),
    (b"[]", -32600, 400),  # an empty batch
    (b"[" + b",".join([_PING + b"}"] * 101) + b"]", -32600, 400),
    (_PING + b',"params":{"pad":"' + b"x" * MAX_MESSAGE_BYTES + b'"}}', -32600, 413),
    (b'{"jsonrpc":"2.0","id":1,"method":"resources/list"}', -32601, 200),
    (_PING + b',"params":[1]}', -32602, 200),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}', -32602, 200),
]


class Mcp:
    """A ``taskyard mcp`` process, and the client side of its stdio transport."""

    def __init__(self, url: str, token: str) -> None:
        env = {**os.environ, "TASKYARD_URL": url, "TASKYARD_TOKEN": token}
        self.proc = subprocess.Popen(
            [TASKYARD, "mcp"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._next_id = 0

    def send(self, message: Any) -> None:
        """One line: bytes or text as they are, anything else as JSON."""
        assert self.proc.stdin is not None
        if not isinstance(message, bytes | str):
            message = json.dumps(message)
        raw = message if isinstance(message, bytes) else message.encode()
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> Any:
        """The next message on stdout; every line there must be one JSON-RPC message."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.endswith(b"\n"), f"server exited: {self.stderr()}"
        return json.loads(line)

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        reply: dict[str, Any] = self.receive()
        assert reply["jsonrpc"] == "2.0" and reply["id"] == self._next_id, reply
        return reply

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A tool's result; a JSON result must come as text and as structuredContent."""
        result: dict[str, Any] = self.request("tools/call", {"name": tool, "arguments": arguments})[
            "result"
        ]
        if "structuredContent" in result:
            assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
        return result

    def ok(self, tool: str, **arguments: Any) -> Any:
        result = self.call(tool, **arguments)
        assert not result.get("isError"), result
        return result.get("structuredContent", result["content"][0]["text"])

    def error(self, tool: str, **arguments: Any) -> str:
        result = self.call(tool, **arguments)
        assert result["isError"] is True, result
        return str(result["content"][0]["text"])

    def stderr(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate()
        return err.decode()

    def close(self) -> None:
        """Close stdin as an MCP client shuts a stdio server down: it must exit cleanly."""
        out, err = self.proc.communicate(timeout=30)  # closes stdin, reads to the end
        assert (self.proc.returncode, out) == (0, b""), err.decode()


def start(url: str, token: str) -> Mcp:
    mcp = Mcp(url, token)
    init = mcp.request(
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "tests", "version": "1"},
        },
    )["result"]
    assert init["protocolVersion"] == "2025-06-18"
    assert init["capabilities"] == {"tools": {"listChanged": False}}
    assert init["serverInfo"]["name"] == "taskyard" and "approve" in init["instructions"]
    mcp.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    return mcp


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    with serve(make_app(tmp_path / "data")) as url:
        yield url


@pytest.fixture
def mcp(api_url: str) -> Iterator[Mcp]:
    server = start(api_url, TOKEN)
    yield server
    server.close()


def test_protocol(mcp: Mcp) -> None:
    # The notification sent by ``start`` got no reply: this ping's is the next line.
    assert mcp.request("ping")["result"] == {}
    invalid = {"code": -32600, "message": "Invalid request."}
    unknown = mcp.request("initialize", {"protocolVersion": "1999-01-01", "capabilities": {}})
    assert unknown["result"]["protocolVersion"] == PROTOCOL_VERSIONS[0]

    tools = mcp.request("tools/list")["result"]["tools"]
    assert [t["name"] for t in tools] == [
        "create_task",
        "wait_task",
        "list_tasks",
        "show_task",
        "task_events",
        "task_diff",
        "send_message",
        "approve",
        "request_changes",
        "start_task",
        "cancel_task",
    ]
    for tool in tools:
        schema = tool["inputSchema"]
        assert schema["type"] == "object" and tool["description"] and tool["title"]
        assert set(schema.get("required", [])) <= set(schema["properties"])
    hints = {t["name"]: t["annotations"] for t in tools}
    assert hints["list_tasks"]["readOnlyHint"] and hints["cancel_task"]["destructiveHint"]

    mcp.send("{not json")
    assert mcp.receive()["error"]["code"] == -32700
    mcp.send({"jsonrpc": "1.0", "id": 7, "method": "ping"})
    assert mcp.receive()["error"] == {"code": -32600, "message": "Not a JSON-RPC 2.0 message."}
    mcp.send({"jsonrpc": "2.0", "id": 7})
    assert mcp.receive() == {"jsonrpc": "2.0", "id": 7, "error": invalid}
    assert mcp.request("resources/list")["error"]["code"] == -32601
    assert mcp.request("tools/call", {"name": "rm_rf"})["error"] == {
        "code": -32602,
        "message": "Unknown tool: rm_rf",
    }
    # A response (we never ask anything) and a notification: ignored. A batch: answered.
    mcp.send({"jsonrpc": "2.0", "id": 99, "result": {}})
    mcp.send([{"jsonrpc": "2.0", "method": "notifications/cancelled"}, {"jsonrpc": "2.0"}])
    mcp.send([{"jsonrpc": "2.0", "id": "a", "method": "ping"}])
    assert mcp.receive() == [{"jsonrpc": "2.0", "id": None, "error": invalid}]
    assert mcp.receive() == [{"jsonrpc": "2.0", "id": "a", "result": {}}]


def test_tools_create_read_and_act(mcp: Mcp) -> None:
    task = mcp.ok(
        "create_task",
        title="Fix the crash",
        description="TypeError in cart.py",
        repository="acme/shop",
        team="TY",
        parameters={"ai_prompt": "be brief"},
        run=False,
    )
    assert (task["key"], task["status"], task["origin"]) == ("TY-1", "queued", "mcp")
    assert task["parameters"]["ai_prompt"] == "be brief"
    mcp.ok("create_task", title="Second", repository="acme/shop", run=False)
    sentry = mcp.ok(
        "create_task",
        title="From Sentry",
        repository="acme/shop",
        origin="error_tracking",
        origin_context={"issue": "https://sentry.example/1"},
        run=False,
    )
    assert sentry["origin"] == "error_tracking" and sentry["origin_context"]["issue"]
    assert "origin" in mcp.error("create_task", title="T", repository="a/b", origin="mars")
    mcp.ok("cancel_task", key=sentry["key"])
    assert mcp.ok("wait_task", key=sentry["key"], timeout_seconds=5)["status"] == "cancelled"
    still = mcp.ok("wait_task", key="TY-1", statuses=["completed"], timeout_seconds=1)
    assert still.startswith("TY-1 is still queued at stage")

    page = mcp.ok("list_tasks", limit=2)
    assert [t["key"] for t in page["items"]] == ["TY-3", "TY-2"]
    older = mcp.ok("list_tasks", before=page["next_before"], status="queued")
    assert [t["key"] for t in older["items"]] == ["TY-1"]
    assert mcp.ok("list_tasks", status="failed")["items"] == []

    shown = mcp.ok("show_task", key="TY-1")
    assert shown["description"] == "TypeError in cart.py" and shown["status_history"]
    events = mcp.ok("task_events", key="TY-1")
    assert [e["kind"] for e in events["items"]] == ["created", "status"]
    after = mcp.ok("task_events", key="TY-1", after=events["next_after"], kinds=["status"])
    assert after == {"items": [], "next_after": events["next_after"]}
    assert mcp.ok("task_diff", key="TY-1") == "(no changes)"

    mcp.ok("cancel_task", key="TY-1")
    assert mcp.ok("show_task", key="TY-1")["status"] == "cancelled"


def test_api_and_argument_errors_are_tool_errors(mcp: Mcp) -> None:
    assert mcp.error("show_task", key="TY-9") == "Task 'TY-9' not found."
    assert mcp.error("create_task", title="T", repository="nope").startswith(
        "Repository 'nope' must be 'org/repo'"
    )
    mcp.ok("create_task", title="T", repository="acme/shop", run=False)
    not_started = "Task TY-1 has not been started; start it first."
    assert mcp.error("send_message", key="TY-1", text="hi") == not_started
    assert mcp.error("approve", key="TY-1", comment="ok") == not_started
    assert mcp.error("request_changes", key="TY-1", text="redo", stage="code") == not_started
    assert "engine is not connected" in mcp.error("start_task", key="TY-1")
    mcp.ok("cancel_task", key="TY-1")
    assert "already cancelled" in mcp.error("cancel_task", key="TY-1")

    # Arguments are checked against the tool's schema before the API is called.
    assert mcp.error("create_task", title="T") == "Missing required argument(s): repository."
    assert mcp.error("show_task", key=42) == "key must be a string."
    assert mcp.error("show_task", key="") == "key must not be empty."
    assert mcp.error("list_tasks", limit=0) == "limit must be at least 1."
    assert mcp.error("list_tasks", status="done").startswith("status must be one of: queued,")
    assert mcp.error("task_events", key="TY-1", kinds=["status", 3]) == "kinds[1] must be a string."
    assert mcp.error("approve", key="TY-1", by="me").startswith("Unknown argument(s): by (known:")
    assert mcp.request("ping")["result"] == {}  # still serving


def test_bad_token(api_url: str) -> None:
    mcp = start(api_url, "ty_wrong")
    assert mcp.error("list_tasks").startswith("Invalid or revoked API token.")
    mcp.close()


def test_bad_input_is_answered_with_errors(mcp: Mcp) -> None:
    for raw, code, _ in BAD_INPUT:
        mcp.send(raw)
        reply = mcp.receive()
        assert reply["error"]["code"] == code, (raw[:60], reply)
    too_long = b"x" * (3 * MAX_MESSAGE_BYTES)  # read on in pieces, not held whole
    mcp.send(too_long)
    assert mcp.receive()["error"]["message"].startswith("Message too large")
    assert mcp.request("ping")["result"] == {}  # still serving, in step


def test_unreachable_server_in_process() -> None:
    """The protocol core without a process: a server nobody listens on is a tool error."""
    with Client("http://127.0.0.1:9", TOKEN) as client:
        line = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"show_task",'
        reply = SERVER.answer(line + b'"arguments":{"key":"TY-1"}}}', client)
        notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert SERVER.handle(notification, client) is None
    assert isinstance(reply, dict) and reply["result"]["isError"] is True
    assert reply["result"]["content"][0]["text"].startswith("Cannot reach taskyard at")


def test_a_task_through_its_gates_on_the_real_engine(
    server: RunningServer, remote_repo: Path
) -> None:
    assert server.http.post("/api/v1/templates", content=TEMPLATE).status_code == 201
    mcp = start(server.url, ADMIN_TOKEN)
    # The default workflow: Plan (approval) → Code → Review (approval) → Done.
    key = mcp.ok("create_task", title="Say hi", repository=str(remote_repo), template="scripted")[
        "key"
    ]
    server.wait_for(key, "waiting", stage="plan")
    mark = server.last_event_id(key)
    assert mcp.ok("approve", key=key, comment="go")["key"] == key
    server.wait_for(key, "waiting", stage="review", after=mark)
    assert "+hi" in mcp.ok("task_diff", key=key)

    mark = server.last_event_id(key)
    mcp.ok("request_changes", key=key, text="Say it again", stage="code")
    server.wait_for(key, "waiting", stage="review", after=mark)
    mcp.ok("approve", key=key)
    server.wait_for(key, "completed")
    done = mcp.ok("show_task", key=key)
    assert done["status"] == "completed" and done["pull_requests"]
    approvals = mcp.ok("task_events", key=key, kinds=["approval", "request_changes"])["items"]
    assert [e["kind"] for e in approvals] == ["approval", "request_changes", "approval"]
    mcp.close()


def test_exports_are_pinned() -> None:
    assert set(taskyard.mcp.__all__) == {
        "MAX_MESSAGE_BYTES",
        "PROTOCOL_VERSIONS",
        "McpServer",
        "Tool",
        "ToolError",
        "error_reply",
        "obj",
        "serve_stdio",
        "text",
    }
    assert all(hasattr(taskyard.mcp, name) for name in taskyard.mcp.__all__)


def test_the_core_loads_neither_the_sdk_nor_httpx() -> None:
    """The gateway imports the core: it must not drag the client side in with it."""
    code = "import sys, taskyard.mcp; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "taskyard.mcp.core" in loaded
    assert not [m for m in loaded if m.startswith(("taskyard.sdk", "httpx", "taskyard.mcp.tasks"))]
