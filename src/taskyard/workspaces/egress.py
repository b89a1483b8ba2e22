"""The egress proxy behind network policy ``allowlist``.

An HTTP forward proxy (``CONNECT host:port`` for TLS and anything else, plus
plain ``GET http://host/...`` requests) that lets through only hosts in the
template's ``network.allow`` and answers every other one with 403.

There is one proxy per sandbox, listening on a Unix socket in the sandbox's
private runtime directory: the socket a connection arrives on *is* the
sandbox's identity, so no per-connection bookkeeping or authentication is
needed, and closing the proxy cuts that sandbox's network without touching
others. The bubblewrap provider starts and closes it; the sandbox reaches it
through :mod:`taskyard.workspaces.netbridge` as ``HTTP(S)_PROXY``.

What gets through (:mod:`taskyard.workspaces.egress_policy` decides): a host
that ``network.allow`` names, on a port in ``network.ports`` (80 and 443 unless
the template says otherwise), at an address that is public unicast or that
``network.allow`` names *by address*. Names resolve on the host, so without the address check an
allowed name that resolves to ``127.0.0.1`` (``localhost``, or a DNS record an
attacker controls) would give the sandbox the host's loopback services, the
taskyard API among them. The proxy resolves once, checks every address, and
connects to a checked address itself: no second lookup between check and
connect for a rebinding DNS server to answer differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from taskyard.model import hosts
from taskyard.workspaces.egress_policy import DEFAULT_PORTS, EgressPolicy, Refused, Target
from taskyard.workspaces.netbridge import HostService, relay

log = logging.getLogger(__name__)

PROXY_PORT = 3128
"""The port the proxy appears on inside a sandbox."""

_MAX_HEAD = 64 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te"}


def proxy_service(target: str | Path, port: int = PROXY_PORT) -> HostService:
    """The bridge entry that exposes a proxy as the sandbox's ``HTTP(S)_PROXY``.

    ``NO_PROXY`` exempts loopback only: inside the sandbox that is the sandbox's
    own (where other bridged services, such as the model-API proxy, listen), so
    the exemption opens no way around the proxy; without it, clients would send
    requests for those services through the proxy to the host's loopback.
    """
    env = {key: "{url}" for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    local = "localhost,127.0.0.1,::1"
    return HostService("egress", target, port, {**env, "NO_PROXY": local, "no_proxy": local})


class EgressProxy:
    """An allowlisting HTTP proxy on a Unix socket (or, without one, on loopback TCP).

    Args:
        allow: Host patterns, see :func:`~taskyard.workspaces.egress_policy.host_allowed`.
        ports: Ports reachable on allowed hosts (the template's ``network.ports``).
        socket_path: Unix socket to listen on; if None, ``127.0.0.1`` on a free port.
        connect_timeout: Seconds to resolve and connect upstream (504 after).
        head_timeout: Seconds a client has to send its request line and headers.
        on_decision: Called with (host, port, allowed) for every request, e.g. to
            record refusals as task events.
        reachable: Non-public addresses the operator lets ``allow`` name (none by default).
    """

    def __init__(
        self,
        allow: Sequence[str],
        *,
        ports: Sequence[int] = DEFAULT_PORTS,
        socket_path: Path | None = None,
        connect_timeout: float = 10.0,
        head_timeout: float = 30.0,
        on_decision: Callable[[str, int, bool], None] | None = None,
        reachable: hosts.AllowedHosts | None = None,
    ) -> None:
        self.policy = EgressPolicy(allow, ports, reachable=reachable)
        self.socket_path = socket_path
        self.connect_timeout = connect_timeout
        self.head_timeout = head_timeout
        self.on_decision = on_decision
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Start listening."""
        if self.socket_path is not None:
            self._server = await asyncio.start_unix_server(
                self._handle, self.socket_path, limit=_MAX_HEAD
            )
        else:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=_MAX_HEAD)

    @property
    def target(self) -> str | Path:
        """Where the proxy listens: its socket path, or ``127.0.0.1:<port>``."""
        if self.socket_path is not None:
            return self.socket_path
        assert self._server is not None, "start() first"
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            # Server.wait_closed() does not end connections (and waits for them
            # from Python 3.12 on), so cancel the handlers, which close both ends.
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # close() cancels handlers; ending cancelled would make Python 3.11's
            # asyncio log a spurious error for each.
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.head_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
            if method == "CONNECT":
                host, port, path = *_split_authority(target, 443), ""
                host_header = ""
            else:
                url = urlsplit(target)
                if url.scheme != "http" or not url.hostname:
                    raise ValueError(target)
                host, port = url.hostname, url.port or 80
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                host_header = url.netloc.rpartition("@")[2]
        except ValueError:
            await _answer(writer, 400, "taskyard egress proxy: expected CONNECT or http:// URL\n")
            return
        try:
            upstream = await self._connect(host, port)
        except Refused as refusal:
            authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            outcome = "refused" if refusal.status == 403 else "not reached"
            message = f"taskyard egress proxy: {host} {refusal.reason}; {authority} {outcome}\n"
            await _answer(writer, refusal.status, message)
            return
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            # One request per upstream connection keeps the relay a plain byte pipe.
            # Host comes from the URL that was checked (RFC 9112 3.2.2), so a
            # client cannot ask an allowed server for a virtual host not allowed.
            headers = [
                h
                for h in lines[1:]
                if h and h.split(":")[0].strip().lower() not in {*_HOP_BY_HOP, "host"}
            ]
            request = [f"{method} {path} {version}", f"Host: {host_header}", *headers]
            request += ["Connection: close", "", ""]
            upstream[1].write("\r\n".join(request).encode("latin-1"))
        await relay((reader, writer), upstream, stop_when_b_ends=method != "CONNECT")

    async def _connect(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``host:port`` at an address the policy checked.

        Raises:
            Refused: the policy refuses it (403), or it cannot be reached (502, 504).
        """
        try:
            host = self.policy.check(host, port)
        except Refused:
            self._decided(host, port, False)
            raise
        try:
            async with asyncio.timeout(self.connect_timeout):
                targets = await self.policy.resolve(host, port)
                self._decided(host, port, True)
                return await _open(targets)
        except Refused as refusal:
            if refusal.status == 403:
                self._decided(host, port, False)
            raise
        except TimeoutError:
            raise Refused("timed out", 504) from None
        except OSError as exc:
            raise Refused(f"is unreachable: {exc}", 502) from exc

    def _decided(self, host: str, port: int, allowed: bool) -> None:
        if not allowed:
            log.info("egress refused: %s:%d", host, port)
        if self.on_decision is not None:
            self.on_decision(host, port, allowed)


async def _open(targets: list[Target]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the first of ``targets`` that answers, by socket address: no lookup."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address")
    for family, sockaddr in targets:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only then, and a relayed request
        # must not wait on Nagle (see taskyard.listen).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock, limit=_MAX_HEAD)
    raise error


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = authority.partition(":")
    number = int(port) if port else default_port
    if not host or not 0 < number < 65536:
        raise ValueError(authority)
    return host, number


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway", 504: "Gateway Timeout"}
    body = message.encode()
    writer.write(
        f"HTTP/1.1 {status} {reason[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
