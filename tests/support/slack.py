"""A Slack stand-in on loopback: the Web API's ``chat.postMessage`` and ``chat.update``
(bearer token, JSON in, ``{"ok": …}`` out, HTTP 429 with ``Retry-After`` when
throttled) and incoming webhooks (``/services/…``, answered ``ok`` or an error name),
checking messages against Slack's Block Kit limits as Slack does.

Messages break no limit in a passing test: :func:`serve_slack` fails the test at its
end if one did (``violations``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.server import serve_app

TOKEN = "xoxb-1234-5678-standin"
CHANNEL = "C0TASKS001"  # the bot is a member
OUTSIDE = "C0OUTSIDE1"  # exists, the bot is not a member
ARCHIVED = "C0ARCHIVED"
WEBHOOK = "/services/T0000001/B0000001/standinsecret"
MAX_BLOCKS, MAX_SECTION, MAX_FIELDS, MAX_FIELD, MAX_TEXT = 50, 3000, 10, 2000, 40_000


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    edits: int = 0


@dataclass
class SlackStandIn:
    url: str = ""  # set once served
    messages: dict[str, Message] = field(default_factory=dict)  # by ts
    hooked: list[dict[str, Any]] = field(default_factory=list)  # incoming webhook bodies
    calls: list[str] = field(default_factory=list)  # API methods and webhook posts, in order
    violations: list[str] = field(default_factory=list)
    _throttled: list[int] = field(default_factory=list)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def throttle(self, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next ``times`` requests with 429 and ``Retry-After``."""
        self._throttled += [retry_after] * times

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST"]),
                Route("/services/{path:path}", self._hook, methods=["POST"]),
            ]
        )

    def _limited(self, ok_shape: bool) -> Response | None:
        if not self._throttled:
            return None
        headers = {"Retry-After": str(self._throttled.pop(0))}
        if ok_shape:
            return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers)
        return PlainTextResponse("rate_limited", 429, headers)

    async def _body(self, request: Request) -> Any:
        if request.headers.get("content-type") != "application/json; charset=utf-8":
            # Slack warns `missing_charset`; a message could then be read as Latin-1.
            self.violations.append(f"content-type {request.headers.get('content-type')}")
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        self.calls.append(method)
        limited = self._limited(ok_shape=True)
        if limited is not None:
            return limited
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error("not_authed")
        if token != TOKEN:
            return _error("invalid_auth")
        body = await self._body(request)
        if not isinstance(body, dict):
            return _error("invalid_json")
        channel = body.get("channel")
        if channel not in (CHANNEL, OUTSIDE, ARCHIVED):
            return _error("channel_not_found")
        if channel == ARCHIVED:
            return _error("is_archived")
        if channel == OUTSIDE:
            return _error("not_in_channel")
        problem = self._check(body)
        if problem:
            return _error(problem)
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            self.messages[ts] = Message(channel, ts, body.get("text", ""), body.get("blocks", []))
        elif method == "chat.update":
            ts = str(body.get("ts", ""))
            message = self.messages.get(ts)
            if message is None or message.channel != channel:
                return _error("message_not_found")
            message.text, message.blocks = body.get("text", ""), body.get("blocks", [])
            message.edits += 1
        else:
            return _error("unknown_method", 404)
        return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": body})

    async def _hook(self, request: Request) -> Response:
        self.calls.append("webhook")
        limited = self._limited(ok_shape=False)
        if limited is not None:
            return limited
        if "/" + request.url.path.lstrip("/") != WEBHOOK:
            return PlainTextResponse("no_service", 404)
        body = await self._body(request)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", 400)
        problem = self._check(body)
        if problem:
            return PlainTextResponse(problem, 400)
        self.hooked.append(body)
        return PlainTextResponse("ok")

    def _check(self, body: dict[str, Any]) -> str:
        """Slack's error for a message beyond its limits, recorded; "" if it is fine."""
        text, blocks = body.get("text", ""), body.get("blocks", [])
        problems = []
        if not text and not blocks:
            problems.append("no_text")
        if len(text) > MAX_TEXT:
            problems.append("msg_too_long")
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            problems.append("invalid_blocks")
        for block in blocks if isinstance(blocks, list) else []:
            texts = [block.get("text", {}).get("text", "")]
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS or any(len(f["text"]) > MAX_FIELD for f in fields):
                problems.append("invalid_blocks")
            texts += [element.get("text", "") for element in block.get("elements", [])]
            if any(len(t) > MAX_SECTION for t in texts):
                problems.append("invalid_blocks")
        self.violations += problems
        return problems[0] if problems else ""


def _error(error: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status)


@contextmanager
def serve_slack() -> Iterator[SlackStandIn]:
    """A Slack stand-in served on a random loopback port; ``url`` is its base."""
    standin = SlackStandIn()
    with serve_app(standin.app(), TOKEN) as client:
        standin.url = str(client.base_url).rstrip("/")
        yield standin
    assert not standin.violations, standin.violations
