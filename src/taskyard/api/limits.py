"""The edge of the server: every request is bounded and checked before a route sees it.

A body larger than its limit is answered 413 as soon as the count passes the limit
(or at once, from ``Content-Length``), never read in full. A JSON body is parsed once
here and refused with 400 if it holds what could not be stored and read back (see
``taskyard.model.inputs.check_tree``): one check for every route, present and future.
It runs on the event loop, which the body limit keeps to milliseconds.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from taskyard.api.errors import refusal
from taskyard.config import Settings
from taskyard.model.errors import InvalidInput
from taskyard.model.inputs import MAX_DEPTH, check_tree

TEMPLATE_PUSH = ("POST", "/api/v1/templates")
# Its signature is checked before its body is read as JSON: the route checks both.
GITHUB_WEBHOOK = ("POST", "/webhooks/github")
INTAKE_WEBHOOKS = "/webhooks/intake/"  # the same: a source's secret first, then the JSON


class TooLarge(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a number JSON can carry.")


def _is_json(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def check_json_body(raw: bytes, content_type: str | None) -> None:
    """Raise ``InvalidInput`` unless ``raw`` is JSON whose every value can be stored.

    FastAPI reads a body without a content type as JSON too, when its route takes
    JSON; such a body that is not JSON is left for the route (a YAML template is one).
    """
    declared = content_type is not None
    if declared and not _is_json(content_type or ""):
        return
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidInput(f"Request body is nested deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:
        if not declared:
            return
        raise InvalidInput("Request body is not valid JSON.") from exc
    check_tree(document)


class InputLimits:
    """ASGI middleware enforcing the body size limits and the JSON checks."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_template = settings.max_template_bytes
        self.max_webhook = settings.github_webhook_max_bytes

    def _limit(self, route: tuple[str, str]) -> int:
        if route == TEMPLATE_PUSH:
            return self.max_template
        if route == GITHUB_WEBHOOK:
            return self.max_webhook
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await self._refuse(scope, receive, send, 400, "The URL must not contain NUL (%00).")
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        route = (scope["method"], scope["path"].rstrip("/"))
        limit = self._limit(route)
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        try:
            body = await _read(receive, limit)
        except TooLarge:
            await self._too_large(scope, receive, send, limit)
            return
        signed = route == GITHUB_WEBHOOK or route[1].startswith(INTAKE_WEBHOOKS)
        if body and not signed:
            try:
                check_json_body(body, headers.get("content-type"))
            except InvalidInput as exc:
                await self._refuse(scope, receive, send, 400, exc.message)
                return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        message = f"Request body is larger than {limit} bytes."
        await self._refuse(scope, receive, send, 413, message, code="too_large")

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        code: str = "invalid",
    ) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        response = refusal(scope["path"], headers, status, code, message)
        # The client may still be sending: tell it not to reuse this connection.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


async def _read(receive: Receive, limit: int) -> bytes:
    """The whole body, counting as it comes; ``TooLarge`` once past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: the route will see it too
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the route the body already read, then the client's messages."""
    sent = False

    async def replay() -> AsgiMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
