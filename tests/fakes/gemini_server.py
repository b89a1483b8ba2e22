"""A scripted Gemini API (``/v1beta/models/{model}:{method}``) for the Gemini CLI.

``:streamGenerateContent?alt=sse`` streams server-sent events the way the real API
does: one ``data:`` chunk per piece of text, a function call whole in its own chunk,
and a last chunk with ``finishReason`` and ``usageMetadata``. ``:generateContent``
answers with the same response as one JSON object, and ``:countTokens`` with a
rough count. The key arrives in ``x-goog-api-key``.

A request belongs to the agent's conversation when it declares tools. The CLI's
side requests (the model router, the next-speaker check, loop detection,
compression) declare none; most ask for JSON matching ``responseJsonSchema`` and get
a minimal object that fits it, so they never advance the script.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import RecordedRequest, ScriptedServer, Step, say

__all__ = ["GeminiServer", "replies_in", "sample"]

SIDE_REPLY = say("Fake summary", input_tokens=7, output_tokens=3)


def replies_in(contents: list[dict[str, Any]]) -> int:
    """How many model replies a ``contents`` list holds: runs of ``model`` turns."""
    replies, inside = 0, False
    for content in contents:
        is_model = content.get("role") == "model"
        if is_model and not inside:
            replies += 1
        inside = is_model
    return replies


def sample(schema: dict[str, Any]) -> Any:
    """A minimal value matching a Gemini (OpenAPI-style) response schema.

    Numbers are 1 and enums take their first value: the router reads a complexity
    score of 1 as "simple", and the next-speaker check gets ``"user"``, which ends
    the turn instead of making the CLI talk to itself.
    """
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample(sub) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return "fake"


def _parts(step: Step) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if step.text:
        parts.append({"text": step.text})
    if step.tool:
        parts.append({"functionCall": {"name": step.tool, "args": step.input}})
    return parts


def _response(model: str, step: Step, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": step.input_tokens,
            "candidatesTokenCount": step.output_tokens,
            "totalTokenCount": step.input_tokens + step.output_tokens,
        },
        "modelVersion": model,
        "responseId": f"fake-{time.monotonic_ns()}",
    }


async def _stream(response: dict[str, Any]) -> AsyncIterator[bytes]:
    def chunk(parts: list[dict[str, Any]], **extra: Any) -> bytes:
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0, **extra}
        data = {"candidates": [candidate], "modelVersion": response["modelVersion"]}
        if "usageMetadata" in extra:
            data["usageMetadata"] = candidate.pop("usageMetadata")
        return f"data: {json.dumps(data)}\r\n\r\n".encode()

    parts = response["candidates"][0]["content"]["parts"]
    texts = [p["text"] for p in parts if "text" in p]
    calls = [p for p in parts if "functionCall" in p]
    for text in texts:
        words = text.split(" ")
        for i, word in enumerate(words):
            yield chunk([{"text": word if i == 0 else " " + word}])
    for part in calls:
        yield chunk([part])
    # The usage comes once, with the finish reason, on a chunk of its own.
    yield chunk([{"text": ""}], finishReason="STOP", usageMetadata=response["usageMetadata"])


class GeminiServer(ScriptedServer):
    """Fake ``generativelanguage.googleapis.com``; set ``GOOGLE_GEMINI_BASE_URL`` to :attr:`url`."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1beta/models/{call:path}", self._models, methods=["POST"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    async def _models(self, request: Request) -> Response:
        model, _, method = request.path_params["call"].partition(":")
        body = await request.json()
        record = RecordedRequest("POST", request.url.path, dict(request.headers), body)
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if self.api_key is not None and key != self.api_key:
            self.record(record)
            error = {"code": 401, "message": "API key not valid.", "status": "UNAUTHENTICATED"}
            return JSONResponse({"error": error}, status_code=401)
        if method == "countTokens":
            self.record(record)
            return JSONResponse({"totalTokens": len(json.dumps(body)) // 4})
        if method not in ("generateContent", "streamGenerateContent"):
            return await self._other(request)
        if body.get("tools"):
            record.main = True
            record.step, step = self.step_for(replies_in(body.get("contents", [])))
            parts = _parts(step)
        else:
            step = SIDE_REPLY
            config = body.get("generationConfig") or {}
            schema = config.get("responseJsonSchema") or config.get("responseSchema")
            parts = [{"text": json.dumps(sample(schema)) if schema else step.text}]
        record.input_tokens, record.output_tokens = step.input_tokens, step.output_tokens
        self.record(record)
        response = _response(model, step, parts)
        if method == "streamGenerateContent":
            return StreamingResponse(_stream(response), media_type="text/event-stream")
        return JSONResponse(response)

    async def _other(self, request: Request) -> Response:
        raw = await request.body()
        self.record(
            RecordedRequest(request.method, request.url.path, dict(request.headers), raw.decode())
        )
        error = {"code": 404, "message": f"No route {request.url.path}", "status": "NOT_FOUND"}
        return JSONResponse({"error": error}, status_code=404)
