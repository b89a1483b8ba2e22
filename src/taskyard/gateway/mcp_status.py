"""The status MCP endpoint: the agent reports what it is doing, in its own words.

A Model Context Protocol server (:class:`taskyard.mcp.McpServer`, the core ``taskyard
mcp`` uses too) over streamable HTTP: JSON-RPC in POST bodies, answered with one JSON
object; no server-initiated stream, so GET is 405. It is at ``/mcp/<credential>``, the
credential being the turn's own: the agents' MCP configs can only name a URL, so the
credential sits in the path; an ``Authorization: Bearer`` header on ``/mcp`` works too.

One tool, ``report_status(state, summary)``: the state (``working``, ``idle``,
``complete``, ``failure``) and a one-line summary become an ``agent`` event
``{"type": "state", "state", "message", "reported": true}`` and the task's
``agent_state``/``agent_message``, which the dashboard and API show.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from taskyard.gateway.credentials import CredentialStore, Grant, presented_credential
from taskyard.gateway.ledger import Ledger, TaskEnded
from taskyard.mcp import MAX_MESSAGE_BYTES, McpServer, Tool, ToolError, error_reply, obj, text

STATES = ("working", "idle", "complete", "failure")
UNAUTHORIZED = -32001  # implementation-defined server error range

INSTRUCTIONS = (
    "Report your progress on this task with report_status: 'working' with a short summary "
    "when you start a piece of work, 'complete' when you are done, 'failure' when you cannot "
    "go on, 'idle' when you wait for input."
)


class StatusMcp:
    """Serves the status tool to the turns whose credentials are in ``store``."""

    def __init__(self, store: CredentialStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger
        report_status = Tool(
            "report_status",
            "Report task status",
            "Tell the people following this task what you are doing. Call it when you start "
            "a piece of work (state 'working'), when the task is done ('complete'), when you "
            "are stuck or failed ('failure'), or when you wait for input ('idle'). The "
            "summary is one short line (under 160 characters) saying what and why.",
            obj(
                ("state", "summary"),
                state={"type": "string", "enum": list(STATES)},
                summary=text("One short line for people.", minLength=1),
            ),
            self.report_status,
        )
        self.server = McpServer([report_status], instructions=INSTRUCTIONS)

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
            error = error_reply(None, UNAUTHORIZED, "Unknown or revoked credential.")
            return JSONResponse(error, status_code=401)
        body = await _bounded_body(request)
        version = request.headers.get("mcp-protocol-version")
        # In a thread: report_status writes to the database.
        status, reply = await asyncio.to_thread(self.server.answer_post, body, grant, version)
        return Response(status_code=status) if reply is None else JSONResponse(reply, status)

    def report_status(self, grant: Grant, arguments: dict[str, Any]) -> str:
        """Run ``report_status``; its arguments have passed the tool's schema."""
        state, summary = arguments["state"], arguments["summary"].strip()
        if not summary:
            raise ToolError("summary must not be empty.")
        try:
            self.ledger.report_state(grant, state, summary)
        except TaskEnded:
            self.store.revoke_task(grant.task_id)
            raise ToolError("This task has ended; nothing was recorded.") from None
        return f"Reported {state}."


async def _bounded_body(request: Request) -> bytes:
    """The body, or as much of it as shows the core that it is too large to read."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MESSAGE_BYTES:
            break
    return bytes(body)
