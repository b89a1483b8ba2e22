"""``taskyard mcp``: taskyard as a Model Context Protocol server, for people's assistants.

A person's own assistant (Claude Code, Claude Desktop, Codex, ...) launches
``taskyard mcp`` and talks to it over stdio; each tool is one call to the REST API
through the SDK, with the person's ``TASKYARD_URL`` and ``TASKYARD_TOKEN``::

    from taskyard.mcp import serve
    from taskyard.sdk import Client

    with Client() as client:
        serve(client)  # until stdin closes

``protocol`` holds the JSON-RPC/MCP machinery, ``tools`` what a tool is, ``tasks`` the
tools themselves.
"""

from __future__ import annotations

import sys
from typing import IO

from taskyard.mcp.protocol import PROTOCOL_VERSIONS, McpServer, serve_stdio
from taskyard.mcp.tasks import INSTRUCTIONS, TOOLS
from taskyard.mcp.tools import Tool, ToolError
from taskyard.sdk import Client

__all__ = [
    "INSTRUCTIONS",
    "PROTOCOL_VERSIONS",
    "TOOLS",
    "McpServer",
    "Tool",
    "ToolError",
    "serve",
    "serve_stdio",
]


def serve(client: Client, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> None:
    """Serve taskyard's tools over stdio (the process's own by default) until stdin closes."""
    server = McpServer(TOOLS, client, instructions=INSTRUCTIONS)
    serve_stdio(server, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
