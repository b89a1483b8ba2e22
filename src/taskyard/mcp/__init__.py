"""taskyard's Model Context Protocol servers, on one core.

:mod:`~taskyard.mcp.core` is the protocol (JSON-RPC 2.0, ``initialize``, ``ping``,
``tools/list``, ``tools/call``) and its two transports, stdio and the POST of streamable
HTTP; :mod:`~taskyard.mcp.schema` declares and checks tool arguments. Each server only
declares its tools:

- :mod:`~taskyard.mcp.tasks`: ``taskyard mcp``, taskyard's tasks for a person's own
  assistant (Claude Code, Claude Desktop, Codex, ...) over stdio, each tool one call to
  the REST API through the SDK;
- :mod:`taskyard.gateway.mcp_status`: the gateway's status endpoint, where agents in
  sandboxes report their state.

This package imports neither the SDK nor anything of the server, so the gateway may use
it; :mod:`~taskyard.mcp.tasks` (which needs the SDK) is imported by name::

    from taskyard.mcp.tasks import serve
    from taskyard.sdk import Client

    with Client() as client:
        serve(client)  # until stdin closes
"""

from __future__ import annotations

from taskyard.mcp.core import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSIONS,
    McpServer,
    Tool,
    ToolError,
    error_reply,
    serve_stdio,
)
from taskyard.mcp.schema import obj, text

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSIONS",
    "McpServer",
    "Tool",
    "ToolError",
    "error_reply",
    "obj",
    "serve_stdio",
    "text",
]
