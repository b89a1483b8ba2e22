"""The Model Context Protocol's server side: JSON-RPC 2.0 dispatch, and the stdio transport.

Only what a tools server needs: the ``initialize`` handshake (version negotiation and the
``tools`` capability), ``ping``, ``tools/list`` and ``tools/call``. :class:`McpServer`
turns one decoded message into its reply, independent of any transport, so the same core
could later sit behind HTTP; :func:`serve_stdio` is the newline-delimited stdio transport
that desktop assistants launch a local server with.

Errors are reported in the two ways the specification asks for: a malformed message, an
unknown method or an unknown tool is a JSON-RPC error; anything a tool runs into (the
API's refusal, bad arguments, an unreachable server) is a tool result with
``isError: true``, which the model sees and can act on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import IO, Any

from taskyard import __version__
from taskyard.mcp.tools import Tool, ToolError

log = logging.getLogger(__name__)

#: Protocol revisions this server speaks, newest first. Nothing it uses changed between
#: them: newer fields (``title``, ``structuredContent``) are ignored by older clients.
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Message = dict[str, Any]


class RpcError(Exception):
    """A JSON-RPC error to answer a request with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error(id_: Any, code: int, message: str) -> Message:
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def _valid_id(value: Any) -> bool:
    # JSON-RPC ids are strings or numbers; a bool is a JSON literal, not a number.
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class McpServer:
    """Answers MCP messages by running ``tools``.

    Args:
        tools: The tools offered, each with its input schema and the function it runs.
        context: What each tool's function receives first (an SDK client).
        instructions: Told to the client's model at initialization: how to use the tools.
    """

    def __init__(self, tools: Sequence[Tool], context: Any, *, instructions: str = "") -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._context = context
        self._instructions = instructions
        self.protocol_version = ""  # negotiated by ``initialize``
        self.initialized = False  # the client said ``notifications/initialized``

    def handle(self, message: Any) -> Message | list[Message] | None:
        """The reply to one decoded message (or batch); ``None`` when none is due."""
        if isinstance(message, list):
            # Batches were part of the 2025-03-26 revision; answering them costs nothing.
            if not message:
                return _error(None, INVALID_REQUEST, "Empty batch.")
            replies = [reply for item in message if (reply := self._handle_one(item)) is not None]
            return replies or None
        return self._handle_one(message)

    def handle_line(self, line: str) -> str | None:
        """The reply to one line of the stdio transport, encoded; ``None`` when none is due."""
        try:
            message = json.loads(line)
        except ValueError as exc:
            return json.dumps(_error(None, PARSE_ERROR, f"Parse error: {exc}"))
        reply = self.handle(message)
        # ASCII-only JSON never contains a raw newline, which would split the message.
        return None if reply is None else json.dumps(reply)

    def _handle_one(self, message: Any) -> Message | None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _error(None, INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
        method = message.get("method")
        if method is None and "id" in message and ("result" in message or "error" in message):
            return None  # a response; this server sends no requests, so nothing awaits it
        has_id = "id" in message
        id_ = message.get("id")
        if not isinstance(method, str) or (has_id and not _valid_id(id_)):
            return _error(id_ if _valid_id(id_) else None, INVALID_REQUEST, "Invalid request.")
        params = message.get("params", {})
        if not has_id:
            self._notify(method)
            return None
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "params must be an object.")
            result = self._call(method, params)
        except RpcError as exc:
            return _error(id_, exc.code, exc.message)
        except Exception as exc:  # a bug here must not take the session down
            log.exception("MCP request %s failed", method)
            return _error(id_, INTERNAL_ERROR, f"Internal error: {exc}")
        return {"jsonrpc": "2.0", "id": id_, "result": result}

    def _notify(self, method: str) -> None:
        # Notifications get no reply; cancellations need no action, since every request
        # is answered before the next line is read.
        if method == "notifications/initialized":
            self.initialized = True

    def _call(self, method: str, params: Mapping[str, Any]) -> Message:
        if method == "initialize":
            return self._initialize(params)
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": [tool.describe() for tool in self._tools.values()]}
        if method == "tools/call":
            return self._call_tool(params)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _initialize(self, params: Mapping[str, Any]) -> Message:
        requested = params.get("protocolVersion")
        # The client's version if we speak it, else our newest: the client decides
        # whether it can live with that.
        version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
        self.protocol_version = str(version)
        result: Message = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "taskyard", "title": "taskyard", "version": __version__},
        }
        if self._instructions:
            result["instructions"] = self._instructions
        return result

    def _call_tool(self, params: Mapping[str, Any]) -> Message:
        name = params.get("name")
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "arguments must be an object.")
        try:
            return tool.run(self._context, arguments)
        except ToolError as exc:
            return {"content": [{"type": "text", "text": exc.message}], "isError": True}


def serve_stdio(server: McpServer, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer newline-delimited JSON-RPC messages from ``stdin`` until it closes.

    Requests are answered one at a time, in order. Nothing but protocol messages may be
    written to ``stdout``: logs go to stderr.
    """
    for raw in stdin:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        reply = server.handle_line(line)
        if reply is not None:
            stdout.write(reply.encode() + b"\n")
            stdout.flush()
