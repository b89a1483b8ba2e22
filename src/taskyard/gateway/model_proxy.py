"""The model proxy: agents' model API calls, forwarded with the organization's real key.

``/anthropic/<path>`` goes to ``TASKYARD_ANTHROPIC_BASE_URL/<path>``,
``/openai/v1/<path>`` to ``TASKYARD_OPENAI_BASE_URL/<path>`` and ``/google/<path>``
to ``TASKYARD_GEMINI_BASE_URL/<path>``. A request must carry a live per-turn
credential (``x-api-key``, ``x-goog-api-key`` or ``Authorization: Bearer``) granted
for that provider; the proxy drops it, adds the real key in the header the
provider expects, and streams the answer back as it arrives (server-sent events
included), byte for byte.

Every call is metered as it streams (:mod:`~taskyard.gateway.metering`) and booked on
its task when it ends, however it ends; a call is refused once the task has a stop
recorded (a cancel, a budget reached), so a budget is overshot by at most the calls
already under way when it was reached.

Keys are never logged, and never sent anywhere but to the provider's upstream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from taskyard import telemetry
from taskyard.config import Settings
from taskyard.gateway.credentials import CredentialStore, Grant, presented_credential
from taskyard.gateway.ledger import Ledger, Stopped, TaskEnded, Unpriced
from taskyard.gateway.metering import CallMeter
from taskyard.gateway.providers import PROVIDERS, Provider

log = logging.getLogger(__name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Model calls can think for minutes before the first byte; streams send pings meanwhile.
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=60.0, pool=30.0)
# Hop-by-hop headers, what the proxy recomputes, and every way a credential can arrive.
REQUEST_DROP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-api-key",
        "x-goog-api-key",
        "authorization",
        "cookie",
        # Answers come uncompressed so the meter can read their usage; they travel
        # only over loopback to the agent.
        "accept-encoding",
    }
)
RESPONSE_DROP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade"}
)
GEMINI_MODEL = re.compile(r"models/([^/:]+)")


def gateway_error(status: int, kind: str, message: str) -> JSONResponse:
    """An error both CLIs understand: Anthropic reads ``error.type``/``message``,
    OpenAI ``error.message``/``code``."""
    error = {"type": kind, "message": message, "code": kind}
    return JSONResponse({"type": "error", "error": error}, status_code=status)


class ModelProxy:
    """Forwards model API calls for the credentials in ``store``.

    Args:
        settings: Upstream URLs, fallback keys and the database.
        store: The credentials of this process's turns.
        transport: An httpx transport to reach upstreams with (tests pass a mock).
    """

    def __init__(
        self,
        settings: Settings,
        store: CredentialStore,
        ledger: Ledger,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ledger = ledger
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Open the upstream connection pool."""
        # trust_env stays on: a worker that must reach providers through a corporate
        # proxy (HTTPS_PROXY) does so for upstream calls too.
        self._client = httpx.AsyncClient(
            transport=self._transport, timeout=TIMEOUT, follow_redirects=False
        )

    async def close(self) -> None:
        """Close the upstream connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def routes(self) -> list[Route]:
        """One route per provider, by path prefix."""
        return [
            Route(f"{p.prefix}/{{path:path}}", self._endpoint(p), methods=METHODS)
            for p in PROVIDERS.values()
        ]

    def _endpoint(self, provider: Provider) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.forward(request, provider)

        return endpoint

    async def forward(self, request: Request, provider: Provider) -> Response:
        """Check the credential, swap in the real key and stream the upstream's answer."""
        response = await self._forward(request, provider)
        outcome = "forwarded" if isinstance(response, _UpstreamResponse) else "refused"
        telemetry.GATEWAY_REQUESTS.labels(provider.name, outcome).inc()
        return response

    async def _forward(self, request: Request, provider: Provider) -> Response:
        grant = self.store.lookup(presented_credential(request))
        if grant is None:
            return gateway_error(401, "authentication_error", "Unknown or revoked credential.")
        if grant.provider != provider.name:
            allowed = grant.provider or "no model provider"
            return gateway_error(
                403, "permission_error", f"This task's credential is for {allowed}."
            )
        model = _requested_model(request.path_params["path"], await request.body())
        try:
            key = await asyncio.to_thread(self.ledger.upstream_key, grant, provider, model)
        except Stopped as exc:
            self.store.revoke_task(grant.task_id)
            return gateway_error(403, "permission_error", str(exc))
        except TaskEnded:
            self.store.revoke_task(grant.task_id)
            return gateway_error(401, "authentication_error", "The task has ended.")
        except Unpriced as exc:
            return gateway_error(403, "permission_error", str(exc))
        if not key:
            return gateway_error(
                401, "authentication_error", f"No {provider.label} API key is configured."
            )
        assert self._client is not None, "start() first"
        try:
            upstream = await self._client.send(
                await self._upstream_request(request, provider, key), stream=True
            )
        except httpx.HTTPError as exc:
            log.warning("%s: %s API unreachable: %r", grant.task_key, provider.label, exc)
            return gateway_error(502, "api_error", f"{provider.label} API unreachable: {exc!r}")
        streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
        meter = CallMeter(provider.name, model, streamed=streamed)
        return _UpstreamResponse(upstream, grant, meter, self._book)

    async def _book(self, grant: Grant, meter: CallMeter) -> None:
        """Book a call that has ended, cut short or not."""
        usage = meter.usage()
        if not meter.seen:
            return  # not a model call (a model list, an error): nothing was billed
        try:
            await anyio.to_thread.run_sync(self.ledger.record_call, grant, usage, meter.model)
        except Exception:
            log.exception("%s: could not book a model call", grant.task_key)

    async def _upstream_request(
        self, request: Request, provider: Provider, key: str
    ) -> httpx.Request:
        url = provider.base_url(self.settings).rstrip("/") + "/" + request.path_params["path"]
        if request.url.query:
            url += "?" + request.url.query
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.decode("latin-1").lower() not in REQUEST_DROP
        ]
        auth_name, auth_value = provider.auth_header(key)
        headers.append((auth_name.encode(), auth_value.encode()))
        # Built directly, not with the client's build_request: no default headers the
        # agent did not send (an Accept-Encoding it may not decode) and no cookies
        # collected from earlier answers, which may have been another task's.
        return httpx.Request(
            request.method,
            url,
            headers=headers,
            content=await request.body(),
            extensions={"timeout": TIMEOUT.as_dict()},
        )


class _UpstreamResponse(StreamingResponse):
    """The upstream's answer, relayed as it arrives; its connection is released however
    the exchange ends (the agent may hang up before the body even starts)."""

    def __init__(
        self,
        upstream: httpx.Response,
        grant: Grant,
        meter: CallMeter,
        book: Callable[[Grant, CallMeter], Awaitable[None]],
    ) -> None:
        super().__init__(_body(upstream, grant.task_key, meter), status_code=upstream.status_code)
        self.raw_headers = [
            (name, value)
            for name, value in upstream.headers.raw
            if name.decode("latin-1").lower() not in RESPONSE_DROP
        ]
        self.upstream = upstream
        self.grant, self.meter, self.book = grant, meter, book

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: an agent hanging up (or killed) cancels the exchange, and its
            # call must still be booked.
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()
                await self.book(self.grant, self.meter)


def _requested_model(path: str, body: bytes) -> str:
    """The model a call asks for: in the JSON body, or in the path (Gemini)."""
    if found := GEMINI_MODEL.search(path):
        return found.group(1)
    try:
        value = json.loads(body) if body.lstrip().startswith(b"{") else None
    except ValueError:
        return ""
    model = value.get("model") if isinstance(value, dict) else None
    return model if isinstance(model, str) else ""


async def _body(upstream: httpx.Response, task_key: str, meter: CallMeter) -> AsyncIterator[bytes]:
    if upstream.is_stream_consumed:
        meter.feed(upstream.content)  # an in-memory response (a mock transport's) is read
        yield upstream.content
        return
    try:
        async for chunk in upstream.aiter_raw():
            meter.feed(chunk)
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is out already; cutting the stream is all that is left to do.
        log.warning("%s: upstream stream broke off: %r", task_key, exc)
        raise
