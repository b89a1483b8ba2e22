"""The one Model Context Protocol core: JSON-RPC 2.0 and the tools side of MCP.

Both of taskyard's MCP servers are an :class:`McpServer` that declares its tools and
nothing else: ``taskyard mcp`` (:mod:`taskyard.mcp.tasks`, over stdio, for people's
assistants) and the gateway's status endpoint (:mod:`taskyard.gateway.mcp_status`, over
streamable HTTP, for agents in sandboxes). The core speaks what a tools server needs (the
``initialize`` handshake with version negotiation and the ``tools`` capability, ``ping``,
``tools/list``, ``tools/call``) and frames both transports: a line of stdio
(:func:`serve_stdio`) and the body of an HTTP POST (:meth:`McpServer.answer_post`). It
keeps no session: a reply depends on its request alone, so one server serves every
client, and every turn's credential, at once.

Errors are reported in the two ways the specification asks for: a message that is too
large, not JSON, not JSON-RPC 2.0, for an unknown method or an unknown tool is a JSON-RPC
error; anything a tool runs into (bad arguments, the API's refusal, an unreachable
server) is a tool result with ``isError: true``, which the model sees and can act on.

The official ``mcp`` SDK would do this with a session manager running in the host app's
lifespan, Host checks of its own and a dozen dependencies, for these four methods. This
module imports nothing of taskyard's server, nor the SDK, nor httpx: the gateway uses it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from taskyard import __version__
from taskyard.mcp.schema import check

log = logging.getLogger(__name__)

#: Protocol revisions spoken, newest first. Nothing used here changed between them:
#: newer fields (``title``, ``structuredContent``) are ignored by older clients.
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
#: The largest message either transport reads (a stdio line, a POST body): the API's own
#: default body limit, so whatever a tool may send the API fits.
MAX_MESSAGE_BYTES = 1_000_000
#: The most messages a batch may hold: its replies stay as bounded as its requests.
MAX_BATCH = 100

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Message = dict[str, Any]
Reply = Message | list[Message] | None
Handler = Callable[[Any, dict[str, Any]], Any]


class RpcError(Exception):
    """A JSON-RPC error to answer a request with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ToolError(Exception):
    """A tool could not do its work; its message is what the model is told."""


def error_reply(id_: Any, code: int, message: str) -> Message:
    """A JSON-RPC error response."""
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def too_large() -> Message:
    """The answer to a message over :data:`MAX_MESSAGE_BYTES`, which is not read."""
    return error_reply(
        None, INVALID_REQUEST, f"Message too large: at most {MAX_MESSAGE_BYTES} bytes."
    )


def _not_json(name: str) -> Any:
    # Python's parser takes NaN and Infinity, which no reply could carry back as JSON.
    raise ValueError(f"{name} is not JSON")


def _valid_id(value: Any) -> bool:
    # JSON-RPC ids are strings or numbers; a bool is a JSON literal, not a number.
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _tool_result(value: Any, *, is_error: bool = False) -> Message:
    if isinstance(value, str):
        return {"content": [{"type": "text", "text": value}], "isError": is_error}
    return {
        "content": [{"type": "text", "text": json.dumps(value, indent=2)}],
        "structuredContent": value,
        "isError": is_error,
    }


@dataclass(frozen=True)
class Tool:
    """One tool: what ``tools/list`` shows of it and what ``tools/call`` runs.

    ``handler(context, arguments)`` gets arguments that passed ``input_schema`` and
    returns the result: a dict (sent as JSON text and as ``structuredContent``) or a
    string (sent as text). A :class:`ToolError` it raises is told to the model.
    """

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False

    def describe(self) -> Message:
        """The tool as ``tools/list`` lists it."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            # Hints for the client's confirmation prompts; the server enforces nothing here.
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            },
        }


class McpServer:
    """Answers MCP messages by running ``tools``.

    Args:
        tools: The tools offered, each with its input schema and the function it runs.
        instructions: Told to the client's model at initialization: how to use the tools.
        expected: Exceptions a tool may raise whose message the model is told as it is
            (the API's refusals); any other is logged, and reported as unexpected.
    """

    def __init__(
        self,
        tools: Sequence[Tool],
        *,
        instructions: str = "",
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._instructions = instructions
        self._told: tuple[type[Exception], ...] = (ToolError, *expected)

    def answer(self, raw: bytes, context: Any) -> Reply:
        """The reply to one encoded message or batch; ``None`` when none is due.

        ``context`` is what each tool's handler gets first (an SDK client, a turn's grant).
        """
        if len(raw) > MAX_MESSAGE_BYTES:
            return too_large()
        try:
            message = json.loads(raw, parse_constant=_not_json)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            return error_reply(None, PARSE_ERROR, f"Parse error: {exc}")
        return self.handle(message, context)

    def answer_post(self, body: bytes, context: Any, version: str | None) -> tuple[int, Reply]:
        """The HTTP status and JSON reply to a POST of the streamable HTTP transport.

        ``version`` is the request's ``MCP-Protocol-Version`` header. No reply (only
        notifications or responses were sent) is ``202`` with an empty body.
        """
        if version is not None and version not in PROTOCOL_VERSIONS:
            return 400, error_reply(
                None, INVALID_REQUEST, f"Unsupported protocol version {version}."
            )
        if len(body) > MAX_MESSAGE_BYTES:
            return 413, too_large()
        reply = self.answer(body, context)
        if reply is None:
            return 202, None
        if isinstance(reply, dict) and reply.get("error", {}).get("code") in (
            PARSE_ERROR,
            INVALID_REQUEST,
        ):
            return 400, reply  # the message itself is malformed
        return 200, reply

    def handle(self, message: Any, context: Any) -> Reply:
        """The reply to one decoded message or batch; ``None`` when none is due."""
        if isinstance(message, list):
            # Batches were part of the 2025-03-26 revision; answering them costs nothing.
            if not message:
                return error_reply(None, INVALID_REQUEST, "Empty batch.")
            if len(message) > MAX_BATCH:
                return error_reply(
                    None, INVALID_REQUEST, f"Batch too large: at most {MAX_BATCH} messages."
                )
            replies = [r for item in message if (r := self._handle_one(item, context)) is not None]
            return replies or None
        return self._handle_one(message, context)

    def _handle_one(self, message: Any, context: Any) -> Message | None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return error_reply(None, INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
        method = message.get("method")
        if method is None and "id" in message and ("result" in message or "error" in message):
            return None  # a response; these servers send no requests, so nothing awaits it
        has_id = "id" in message
        id_ = message.get("id")
        if not isinstance(method, str) or (has_id and not _valid_id(id_)):
            return error_reply(id_ if _valid_id(id_) else None, INVALID_REQUEST, "Invalid request.")
        if not has_id:
            # Notifications (initialized, cancelled) get no reply and need no action: every
            # request is answered before the next is read, so none is left to cancel.
            return None
        params = message.get("params", {})
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "params must be an object.")
            result = self._call(method, params, context)
        except RpcError as exc:
            return error_reply(id_, exc.code, exc.message)
        except Exception as exc:  # a bug here must not take the server down
            log.exception("MCP request %s failed", method)
            return error_reply(id_, INTERNAL_ERROR, f"Internal error: {exc}")
        return {"jsonrpc": "2.0", "id": id_, "result": result}

    def _call(self, method: str, params: Mapping[str, Any], context: Any) -> Message:
        if method == "initialize":
            return self._initialize(params)
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": [tool.describe() for tool in self._tools.values()]}
        if method == "tools/call":
            return self._call_tool(params, context)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _initialize(self, params: Mapping[str, Any]) -> Message:
        requested = params.get("protocolVersion")
        # The client's version if we speak it, else our newest: the client decides
        # whether it can live with that.
        version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
        result: Message = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "taskyard", "title": "taskyard", "version": __version__},
        }
        if self._instructions:
            result["instructions"] = self._instructions
        return result

    def _call_tool(self, params: Mapping[str, Any], context: Any) -> Message:
        name = params.get("name")
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "arguments must be an object.")
        try:
            check(tool.input_schema, arguments)
        except ValueError as exc:
            return _tool_result(str(exc), is_error=True)
        try:
            return _tool_result(tool.handler(context, arguments))
        except self._told as exc:
            return _tool_result(str(exc), is_error=True)
        except Exception as exc:
            # Still an answer the model can read: the session goes on, the trace to the log.
            log.exception("MCP tool %s failed", tool.name)
            return _tool_result(f"Unexpected error in {tool.name}: {exc!r}", is_error=True)


def serve_stdio(server: McpServer, context: Any, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer newline-delimited JSON-RPC messages from ``stdin`` until it closes.

    Requests are answered one at a time, in order. Nothing but protocol messages may be
    written to ``stdout``: logs go to stderr. A line over :data:`MAX_MESSAGE_BYTES` is
    read on in bounded pieces, dropped and answered with an error.
    """
    while raw := stdin.readline(MAX_MESSAGE_BYTES + 1):
        reply: Reply
        if len(raw) > MAX_MESSAGE_BYTES and not raw.endswith(b"\n"):
            while (rest := stdin.readline(MAX_MESSAGE_BYTES)) and not rest.endswith(b"\n"):
                pass
            reply = too_large()
        elif line := raw.strip():
            reply = server.answer(line, context)
        else:
            continue
        if reply is not None:
            # ASCII-only JSON never holds a raw newline, which would split the message.
            stdout.write(json.dumps(reply).encode() + b"\n")
            stdout.flush()
