"""A scripted OpenAI Responses API (``POST /v1/responses``) for Codex.

Streams server-sent events as the real API does: ``response.created``,
``response.in_progress``, then per output item ``response.output_item.added``,
its deltas (``response.output_text.delta`` for a message,
``response.function_call_arguments.delta`` for a function call) and
``response.output_item.done``, and finally ``response.completed`` carrying the
whole response with its ``usage``. Without ``"stream": true`` the same response
comes back as one JSON object.

A request belongs to the agent's conversation when it offers tools. Each reply is
one output item (a message, or a function call preceded by an optional message),
and the step is the number of model replies already in the request's ``input``:
assistant messages that were not followed by a call of the same reply, and calls.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import RecordedRequest, ScriptedServer, Step, say

__all__ = ["OpenAIServer", "replies_in"]

SIDE_REPLY = say("Fake summary", input_tokens=7, output_tokens=3)
CALL_TYPES = {"function_call", "custom_tool_call", "local_shell_call"}


def replies_in(items: list[dict[str, Any]]) -> int:
    """How many model replies an ``input`` list holds.

    A reply is a run of consecutive assistant items (messages, reasoning, calls)
    between inputs (user messages, call outputs): the same rule the real model's
    history follows, whatever mix of items one reply had.
    """
    replies, inside = 0, False
    for item in items:
        kind = item.get("type", "message")
        is_model = kind in CALL_TYPES or kind == "reasoning" or item.get("role") == "assistant"
        if is_model and not inside:
            replies += 1
        inside = is_model
    return replies


def _items(step: Step) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if step.text:
        part = {"type": "output_text", "text": step.text, "annotations": []}
        items.append(
            {
                "id": "msg_" + uuid.uuid4().hex,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    if step.tool and step.raw is not None:
        items.append(
            {
                "id": "ctc_" + uuid.uuid4().hex,
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": "call_" + uuid.uuid4().hex[:24],
                "name": step.tool,
                "input": step.raw,
            }
        )
    elif step.tool:
        items.append(
            {
                "id": "fc_" + uuid.uuid4().hex,
                "type": "function_call",
                "status": "completed",
                "call_id": "call_" + uuid.uuid4().hex[:24],
                "name": step.tool,
                "arguments": json.dumps(step.input),
            }
        )
    return items


def _response(model: str, step: Step, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "resp_" + uuid.uuid4().hex,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": items,
        "usage": {
            "input_tokens": step.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": step.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": step.input_tokens + step.output_tokens,
        },
    }


async def _stream(response: dict[str, Any]) -> AsyncIterator[bytes]:
    seq = 0

    def event(kind: str, **data: Any) -> bytes:
        nonlocal seq
        seq += 1
        payload = {"type": kind, "sequence_number": seq, **data}
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(response["output"]):
        ids = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added", output_index=index, item={**item, "content": []}
            )
            empty = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", **ids, content_index=0, part=empty)
            for i, word in enumerate(text.split(" ")):
                chunk = word if i == 0 else " " + word
                yield event("response.output_text.delta", **ids, content_index=0, delta=chunk)
            yield event("response.output_text.done", **ids, content_index=0, text=text)
            yield event(
                "response.content_part.done", **ids, content_index=0, part=item["content"][0]
            )
        else:
            # Function calls stream JSON arguments, freeform calls their raw input.
            field, prefix = (
                ("input", "custom_tool_call_input")
                if item["type"] == "custom_tool_call"
                else ("arguments", "function_call_arguments")
            )
            value = item[field]
            opened = {**item, field: "", "status": "in_progress"}
            yield event("response.output_item.added", output_index=index, item=opened)
            cut = len(value) // 2
            for part in (value[:cut], value[cut:]):
                yield event(f"response.{prefix}.delta", **ids, delta=part)
            yield event(f"response.{prefix}.done", **ids, **{field: value})
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=response)


class OpenAIServer(ScriptedServer):
    """Fake OpenAI API; configure the agent's provider ``base_url`` as ``url + "/v1"``."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    async def _responses(self, request: Request) -> Response:
        body = await request.json()
        record = RecordedRequest("POST", request.url.path, dict(request.headers), body)
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            self.record(record)
            error = {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return JSONResponse({"error": error}, status_code=401)
        if body.get("tools"):
            record.main = True
            items = body.get("input", [])
            record.step, step = self.step_for(replies_in(items if isinstance(items, list) else []))
        else:
            step = SIDE_REPLY
        record.input_tokens, record.output_tokens = step.input_tokens, step.output_tokens
        self.record(record)
        response = _response(body.get("model", "gpt-fake"), step, _items(step))
        if body.get("stream"):
            return StreamingResponse(_stream(response), media_type="text/event-stream")
        return JSONResponse(response)

    async def _models(self, request: Request) -> Response:
        self.record(RecordedRequest("GET", request.url.path, dict(request.headers), None))
        return JSONResponse({"object": "list", "data": []})

    async def _other(self, request: Request) -> Response:
        raw = await request.body()
        self.record(
            RecordedRequest(request.method, request.url.path, dict(request.headers), raw.decode())
        )
        error = {"message": f"No route {request.url.path}", "type": "invalid_request_error"}
        return JSONResponse({"error": error}, status_code=404)
