"""The status MCP endpoint: the agent reports what it is doing, in its own words.

A Model Context Protocol server over streamable HTTP (JSON-RPC in POST bodies,
answered with one JSON object; no server-initiated stream, so GET is 405) at
``/mcp/<credential>``, the credential being the turn's own. The agents' MCP
configs can only name a URL, so the credential sits in the path; an
``Authorization: Bearer`` header on ``/mcp`` works too.

One tool, ``report_status(state, summary)``: the state (``working``, ``idle``,
``complete``, ``failure``) and a one-line summary become an ``agent`` event
``{"type": "state", "state", "message", "reported": true}`` and the task's
``agent_state``/``agent_message``, which the dashboard and API show.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from taskyard import __version__
from taskyard.gateway.credentials import CredentialStore, Grant, presented_credential
from taskyard.gateway.ledger import Ledger, TaskEnded

PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
"""Revisions spoken, newest first; the tools part this endpoint uses is the same in all."""
STATES = ("working", "idle", "complete", "failure")
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
UNAUTHORIZED = -32001  # implementation-defined server error range

INSTRUCTIONS = (
    "Report your progress on this task with report_status: 'working' with a short summary "
    "when you start a piece of work, 'complete' when you are done, 'failure' when you cannot "
    "go on, 'idle' when you wait for input."
)
REPORT_STATUS = {
    "name": "report_status",
    "title": "Report task status",
    "description": (
        "Tell the people following this task what you are doing. Call it when you start a "
        "piece of work (state 'working'), when the task is done ('complete'), when you are "
        "stuck or failed ('failure'), or when you wait for input ('idle'). The summary is "
        "one short line (under 160 characters) saying what and why."
    ),
    "inputSchema": {
        "type": "object",
        "properties": {
            "state": {"type": "string", "enum": list(STATES)},
            "summary": {"type": "string", "description": "One short line for people."},
        },
        "required": ["state", "summary"],
        "additionalProperties": False,
    },
}


class RpcError(Exception):
    """A JSON-RPC error answering a request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _reply(id_: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "result": result}


def _error(id_: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def _tool_result(text: str, *, error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": error}


class StatusMcp:
    """Serves the status tool to the turns whose credentials are in ``store``."""

    def __init__(self, store: CredentialStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger

    def routes(self) -> list[Route]:
        """``/mcp`` (credential in a header) and ``/mcp/<credential>``."""
        methods = ["GET", "POST", "DELETE"]
        return [
            Route("/mcp", self.endpoint, methods=methods),
            Route("/mcp/{credential}", self.endpoint, methods=methods),
        ]

    async def endpoint(self, request: Request) -> Response:
        """One HTTP exchange of the streamable HTTP transport."""
        if request.method != "POST":
            # No server-initiated stream and no sessions to end: both are optional.
            return Response(status_code=405, headers={"Allow": "POST"})
        credential = presented_credential(request, request.path_params.get("credential", ""))
        grant = self.store.lookup(credential)
        if grant is None:
            error = _error(None, UNAUTHORIZED, "Unknown or revoked credential.")
            return JSONResponse(error, status_code=401)
        version = request.headers.get("mcp-protocol-version")
        if version is not None and version not in PROTOCOL_VERSIONS:
            error = _error(None, INVALID_REQUEST, f"Unsupported protocol version {version}.")
            return JSONResponse(error, status_code=400)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(_error(None, PARSE_ERROR, "Parse error."), status_code=400)
        # Batches were part of the 2025-03-26 revision; later ones send one message.
        messages = body if isinstance(body, list) and body else [body]
        replies = [r for m in messages if (r := await self.answer(grant, m)) is not None]
        if not replies:
            return Response(status_code=202)  # notifications and responses only
        invalid = len(replies) == 1 and replies[0].get("error", {}).get("code") == INVALID_REQUEST
        payload = replies if isinstance(body, list) else replies[0]
        return JSONResponse(payload, status_code=400 if invalid else 200)

    async def answer(self, grant: Grant, message: Any) -> dict[str, Any] | None:
        """The reply to one message; None for notifications and client responses."""
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _error(None, INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
        method, id_ = message.get("method"), message.get("id")
        if not isinstance(method, str):
            return None  # a response to a request this server never sends
        if "id" not in message:
            return None  # notifications (initialized, cancelled) need nothing from us
        params = message.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "params must be an object.")
            return _reply(id_, await self.call(grant, method, params))
        except RpcError as exc:
            return _error(id_, exc.code, str(exc))

    async def call(self, grant: Grant, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result of one request."""
        if method == "initialize":
            asked = params.get("protocolVersion")
            return {
                "protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "taskyard", "version": __version__},
                "instructions": INSTRUCTIONS,
            }
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": [REPORT_STATUS]}
        if method == "tools/call":
            if params.get("name") != REPORT_STATUS["name"]:
                raise RpcError(INVALID_PARAMS, f"Unknown tool: {params.get('name')}")
            return await self.report_status(grant, params.get("arguments") or {})
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    async def report_status(self, grant: Grant, arguments: Any) -> dict[str, Any]:
        """Run ``report_status``; bad arguments are a tool error the model can correct."""
        state = arguments.get("state") if isinstance(arguments, dict) else None
        summary = arguments.get("summary") if isinstance(arguments, dict) else None
        if state not in STATES:
            return _tool_result(f"state must be one of: {', '.join(STATES)}.", error=True)
        if not isinstance(summary, str) or not summary.strip():
            return _tool_result("summary must be a non-empty string.", error=True)
        try:
            await asyncio.to_thread(self.ledger.report_state, grant, state, summary.strip())
        except TaskEnded:
            self.store.revoke_task(grant.task_id)
            return _tool_result("This task has ended; nothing was recorded.", error=True)
        return _tool_result(f"Reported {state}.")
