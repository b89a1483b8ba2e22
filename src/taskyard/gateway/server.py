"""The gateway server: the model proxy and the status MCP endpoint on one loopback port.

Each worker process runs one (the :class:`~taskyard.runtime.Runtime` starts it
before its worker and stops it after), on ``127.0.0.1`` and a free port. Sandboxes
reach it through the network bridge at the same port on their own loopback, so
one URL works for every sandbox provider and network policy.

The runtime hands it to the worker's activities when it builds them: several
runtimes in one process (as in the tests) each have their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from taskyard.config import Settings
from taskyard.gateway.credentials import CredentialStore
from taskyard.gateway.ledger import Ledger
from taskyard.gateway.mcp_status import StatusMcp
from taskyard.gateway.model_proxy import ModelProxy, gateway_error
from taskyard.listen import tcp_listener

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # SIGINT/SIGTERM belong to the process's own server (or asyncio.run); a second
        # uvicorn taking them would swallow the Ctrl-C meant for the whole process.
        yield


class _LoopbackOrigins:
    """Refuses browser requests from any page not on loopback (DNS rebinding)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is not None and urlsplit(origin).hostname not in LOOPBACK:
                response = gateway_error(403, "permission_error", "Origin not allowed.")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _not_found(request: Request) -> Response:
    return gateway_error(404, "not_found_error", "No such gateway route.")


class Gateway:
    """The per-worker gateway. ``await start()``, issue credentials, ``await stop()``.

    Args:
        settings: The worker's settings (upstreams, limits).
        ledger: Where the gateway asks whether a task may call, and books what it did.
        transport: httpx transport for upstream calls; tests pass a mock.
    """

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = CredentialStore()
        self.proxy = ModelProxy(settings, self.credentials, ledger, transport)
        self.mcp = StatusMcp(self.credentials, ledger)
        self.port = 0
        self._server: _Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The gateway's base URL, on the host's loopback and inside every sandbox."""
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> ASGIApp:
        """The ASGI app: provider prefixes, ``/mcp``, and 404 for anything else."""
        routes = [*self.proxy.routes(), *self.mcp.routes()]
        routes.append(Route("/{path:path}", _not_found, methods=["GET", "POST", "PUT", "DELETE"]))
        return _LoopbackOrigins(Starlette(routes=routes))

    async def start(self) -> None:
        """Listen on a free loopback port; requests are served from the running loop."""
        sock = tcp_listener("127.0.0.1", 0, backlog=1024)
        self._socket, self.port = sock, sock.getsockname()[1]
        await self.proxy.start()
        config = uvicorn.Config(
            self.app(),
            # The process's logging stays as its owner set it up (uvicorn would apply
            # its own dictConfig and levels, process-wide).
            log_config=None,
            log_level=None,
            access_log=False,  # MCP paths hold credentials
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        """Stop serving; credentials still issued stop working with it."""
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            try:
                await self._serving
            except Exception:
                log.exception("gateway server failed")
        await self.proxy.close()
        if self._socket is not None:
            self._socket.close()
        self._server = self._serving = self._socket = None
