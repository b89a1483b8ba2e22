"""The model proxy: agents' model API calls, forwarded with the organization's real key.

``/anthropic/<path>`` goes to ``TASKYARD_ANTHROPIC_BASE_URL/<path>``,
``/openai/v1/<path>`` to ``TASKYARD_OPENAI_BASE_URL/<path>`` and ``/google/<path>``
to ``TASKYARD_GEMINI_BASE_URL/<path>``. A request must carry a live per-turn
credential (``x-api-key``, ``x-goog-api-key`` or ``Authorization: Bearer``) granted
for that provider; the proxy drops it, adds the real key in the header the
provider expects, and streams the answer back as it arrives (server-sent events
included), byte for byte, compression and all.

Keys are never logged, and never sent anywhere but to the provider's upstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from taskyard.config import Settings
from taskyard.gateway import records
from taskyard.gateway.credentials import CredentialStore, presented_credential
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
    }
)
RESPONSE_DROP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade"}
)


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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
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
        grant = self.store.lookup(presented_credential(request))
        if grant is None:
            return gateway_error(401, "authentication_error", "Unknown or revoked credential.")
        if grant.provider != provider.name:
            allowed = grant.provider or "no model provider"
            return gateway_error(
                403, "permission_error", f"This task's credential is for {allowed}."
            )
        try:
            key = await asyncio.to_thread(records.upstream_key, self.settings, grant, provider)
        except records.TaskEnded:
            self.store.revoke_task(grant.task_id)
            return gateway_error(401, "authentication_error", "The task has ended.")
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
        return _UpstreamResponse(upstream, grant.task_key)

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

    def __init__(self, upstream: httpx.Response, task_key: str) -> None:
        super().__init__(_body(upstream, task_key), status_code=upstream.status_code)
        self.raw_headers = [
            (name, value)
            for name, value in upstream.headers.raw
            if name.decode("latin-1").lower() not in RESPONSE_DROP
        ]
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


async def _body(upstream: httpx.Response, task_key: str) -> AsyncIterator[bytes]:
    if upstream.is_stream_consumed:
        yield upstream.content  # an in-memory response (a mock transport's) is read already
        return
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is out already; cutting the stream is all that is left to do.
        log.warning("%s: upstream stream broke off: %r", task_key, exc)
        raise
