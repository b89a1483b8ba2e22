"""A scripted Anthropic Messages API (``POST /v1/messages``) for Claude Code.

Streams server-sent events exactly as the real API does (``message_start``,
``content_block_start``/``delta``/``stop`` for text and ``tool_use`` blocks with
``input_json_delta``, ``message_delta`` carrying the stop reason and usage,
``message_stop``) and answers non-streaming calls with the same message as JSON.

A request is part of the agent's conversation when it offers tools: Claude Code's
side requests (session titles, the quota probe, topic detection) carry none. They
get a short valid answer and do not advance the script.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import RecordedRequest, ScriptedServer, Step, say

__all__ = ["AnthropicServer"]

SIDE_REPLY = say("Fake title", input_tokens=7, output_tokens=3)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _blocks(step: Step) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if step.text:
        blocks.append({"type": "text", "text": step.text})
    if step.tool:
        tool_id = "toolu_" + uuid.uuid4().hex[:24]
        blocks.append({"type": "tool_use", "id": tool_id, "name": step.tool, "input": step.input})
    return blocks


def _message(model: str, step: Step, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "msg_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": "tool_use" if step.tool else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": step.input_tokens,
            "output_tokens": step.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


async def _stream(message: dict[str, Any]) -> AsyncIterator[bytes]:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None}
    # The real API reports input tokens up front and a running output count.
    start["usage"] = {**usage, "output_tokens": 1}
    yield _sse("message_start", {"type": "message_start", "message": start})
    yield _sse("ping", {"type": "ping"})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opened: dict[str, Any] = {"type": "text", "text": ""}
            words = block["text"].split(" ")
            deltas = [
                {"type": "text_delta", "text": w if i == 0 else " " + w}
                for i, w in enumerate(words)
            ]
        else:
            opened = {**block, "input": {}}
            raw = json.dumps(block["input"])
            # Split the JSON mid-token, as the real API does, to exercise the client's parser.
            cut = len(raw) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in (raw[:cut], raw[cut:])
            ]
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opened},
        )
        for delta in deltas:
            yield _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})


class AnthropicServer(ScriptedServer):
    """Fake ``api.anthropic.com``; point ``ANTHROPIC_BASE_URL`` at :attr:`url`."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        messages = body.get("messages", [])
        record = RecordedRequest("POST", request.url.path, dict(request.headers), body)
        if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
            self.record(record)
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            return JSONResponse({"type": "error", "error": error}, status_code=401)
        if body.get("tools"):
            record.main = True
            replies = sum(1 for m in messages if m.get("role") == "assistant")
            record.step, step = self.step_for(replies)
        else:
            step = SIDE_REPLY
        record.input_tokens, record.output_tokens = step.input_tokens, step.output_tokens
        self.record(record)
        message = _message(body.get("model", "claude-fake"), step, _blocks(step))
        if body.get("stream"):
            return StreamingResponse(
                _stream(message),
                media_type="text/event-stream",
                headers={"request-id": "req_" + uuid.uuid4().hex[:24]},
            )
        return JSONResponse(message)

    async def _count_tokens(self, request: Request) -> Response:
        body = await request.json()
        self.record(RecordedRequest("POST", request.url.path, dict(request.headers), body))
        return JSONResponse({"input_tokens": len(json.dumps(body)) // 4})

    async def _other(self, request: Request) -> Response:
        raw = await request.body()
        self.record(
            RecordedRequest(request.method, request.url.path, dict(request.headers), raw.decode())
        )
        if request.method in ("GET", "HEAD") and request.url.path == "/api/hello":
            return JSONResponse({"message": "hello"})  # Claude Code's connectivity probe
        error = {"type": "not_found_error", "message": f"No route {request.url.path}"}
        return JSONResponse({"type": "error", "error": error}, status_code=404)
