"""A scripted OpenAI Chat Completions API (``POST /v1/chat/completions``) for Aider.

Answers ``"stream": true`` with ``chat.completion.chunk`` events (the text in
word-sized deltas, a tool call whole, then a chunk with the ``finish_reason``, a
usage chunk when ``stream_options.include_usage`` asks for one, and ``[DONE]``),
and other requests with one ``chat.completion`` object carrying ``usage``.

Aider offers the model no tools, and its prompt holds made-up example exchanges
and file listings as user/assistant pairs, so neither tools nor the number of
assistant messages tell where its conversation stands. The step is the number of
the script's own replies found among the request's assistant messages: what the
fake said before, in this process or a restored chat history. Requests carrying
one of Aider's side prompts (commit messages, history summaries) get a short
answer and do not advance the script.
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

__all__ = ["ChatCompletionsServer"]

SIDE_REPLY = say("Fake summary", input_tokens=7, output_tokens=3)
# Opening words of Aider's side prompts (aider/prompts.py): commit messages, summaries.
SIDE_PROMPTS = ("You are an expert software engineer that generates concise", "*Briefly* summarize")


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _message(step: Step) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
    if step.tool:
        function = {"name": step.tool, "arguments": json.dumps(step.input)}
        call = {"id": "call_" + uuid.uuid4().hex[:24], "type": "function", "function": function}
        message["tool_calls"] = [call]
    return message


def _usage(step: Step) -> dict[str, Any]:
    return {
        "prompt_tokens": step.input_tokens,
        "completion_tokens": step.output_tokens,
        "total_tokens": step.input_tokens + step.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


async def _stream(
    base: dict[str, Any], message: dict[str, Any], usage: dict[str, Any] | None
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    for i, word in enumerate((message["content"] or "").split(" ")):
        if word or i == 0:
            yield chunk({"content": word if i == 0 else " " + word})
    for index, call in enumerate(message.get("tool_calls", [])):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, "tool_calls" if message.get("tool_calls") else "stop")
    if usage is not None:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
    yield b"data: [DONE]\n\n"


class ChatCompletionsServer(ScriptedServer):
    """Fake OpenAI API; point the client's ``api_base`` at ``url + "/v1"``."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    def replies_in(self, messages: list[dict[str, Any]]) -> int:
        """How many of the script's replies the request's assistant messages repeat."""
        said = {s.text.strip() for s in self.script if s.text.strip()}
        return sum(
            1
            for m in messages
            if m.get("role") == "assistant" and _text(m.get("content")).strip() in said
        )

    async def _completions(self, request: Request) -> Response:
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
        messages = body.get("messages", [])
        system = " ".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
        if any(prompt in system for prompt in SIDE_PROMPTS):
            step = SIDE_REPLY
        else:
            record.main = True
            record.step, step = self.step_for(self.replies_in(messages))
        record.input_tokens, record.output_tokens = step.input_tokens, step.output_tokens
        self.record(record)
        base = {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "created": int(time.time()),
            "model": body.get("model", "gpt-fake"),
        }
        message = _message(step)
        if body.get("stream"):
            wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = {**base, "object": "chat.completion.chunk"}
            return StreamingResponse(
                _stream(chunks, message, _usage(step) if wants_usage else None),
                media_type="text/event-stream",
            )
        finish = "tool_calls" if step.tool else "stop"
        choice = {"index": 0, "message": message, "finish_reason": finish}
        completion = {**base, "object": "chat.completion", "choices": [choice]}
        return JSONResponse({**completion, "usage": _usage(step)})

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
