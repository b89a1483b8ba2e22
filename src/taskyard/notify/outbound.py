"""Requests to a URL a user gave: allowed by TASKYARD_OUTBOUND_ALLOWED_HOSTS, and sent
to the very address that was checked.

A URL is checked twice: when the channel is configured (so a refusal is a 400 and nothing
is stored) and again right before each send, because what its name resolves to may have
changed since (DNS rebinding, or a setting made stricter). Every address the name resolves
to must be allowed, not just the first: the connection could go to any of them.

Checking a name and then letting the HTTP client resolve it again would leave a window in
which a rebinding DNS server answers differently; so the connection is pinned: httpcore
asks its network backend to connect to the URL's host, and ours connects to the address
checked instead. TLS still verifies the certificate for the host name (SNI and the
``Host`` header come from the URL, not from the connection). Redirects are never followed:
a redirect would be a request to a URL nobody checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from taskyard.model.errors import InvalidInput
from taskyard.model.hosts import SETTING, Address, AllowedHosts, ip_literal, unmapped
from taskyard.notify.base import ChannelError, tls_context

DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(InvalidInput):
    """The URL may not be requested: a person must change it, or the setting."""


class Unresolved(InvalidInput):
    """The URL's host name does not resolve (now)."""


@dataclass(frozen=True)
class Checked:
    host: str  # as httpcore asks to connect to it: ASCII (IDNA), lower-case, no brackets
    address: str  # the allowed address it resolved to, which the connection goes to


def _host_port(url: str) -> tuple[str, int]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise Refused(f"'{url[:100]}' is not a URL.") from exc
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise Refused("The URL must be an http:// or https:// URL with a host.")
    if parsed.userinfo:
        raise Refused(
            "The URL must not hold a user name or password (user@host): put credentials "
            "in the path or use the channel's secret."
        )
    return parsed.raw_host.decode("ascii").lower(), parsed.port or DEFAULT_PORTS[parsed.scheme]


def _judge(host: str, found: Iterable[str], allowed: AllowedHosts) -> Checked:
    """The first address of ``found``, once every one of them is allowed; else Refused."""
    literal = ip_literal(host)
    addresses: list[Address] = (
        [literal] if literal is not None else [_address(a) for a in dict.fromkeys(found)]
    )
    named = literal is None and allowed.names_host(host)
    for address in addresses:
        why = allowed.refusal(address, named)
        if why:
            shown = (
                str(address)
                if literal is not None or host == str(address)
                else (f"{address} (what {host} resolves to)")
            )
            by = "a CIDR" if literal is not None else f"the host name {host}, a CIDR"
            raise Refused(
                f"Requests may not go to {shown}: it is {why}. An administrator can allow it "
                f"in {SETTING} (now `{allowed.text}`) by {by}, or `loopback` / `private`; "
                "otherwise use a URL on the internet."
            )
    return Checked(host, str(addresses[0]))


def _address(text: str) -> Address:
    return unmapped(ipaddress.ip_address(text.split("%", 1)[0]))  # fe80::1%eth0 → fe80::1


def check(url: str, allowed: AllowedHosts) -> Checked:
    """Where ``url`` may be sent, or ``Refused`` / ``Unresolved`` (blocking: resolves)."""
    host, port = _host_port(url)
    if ip_literal(host) is not None:
        return _judge(host, (), allowed)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolved(f"The host {host} does not resolve ({exc.strerror or exc}).") from exc
    return _judge(host, (str(a[4][0]) for a in answers), allowed)


async def pinned(url: str, allowed: AllowedHosts) -> httpx.AsyncBaseTransport:
    """A transport that reaches ``url``'s host only at the address just checked; a
    ``ChannelError`` when it may not be reached (for good) or does not resolve (for now)."""
    try:
        # In a thread, as the event loop's own getaddrinfo would resolve it.
        checked = await asyncio.to_thread(check, url, allowed)
    except Refused as exc:
        raise ChannelError(exc.message, retry=False) from exc
    except Unresolved as exc:
        raise ChannelError(exc.message, retry=True) from exc
    return PinnedTransport(checked, tls_context())


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with one change: its connection pool's network backend
    connects to the checked address. httpx takes no network backend, so the pool it
    built is replaced by one that has ours (no proxy: a proxy would resolve the name)."""

    def __init__(self, checked: Checked, context: ssl.SSLContext) -> None:
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=_PinnedBackend(checked)
        )


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, checked: Checked) -> None:
        self._checked = checked
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.lower() != self._checked.host:  # only a redirect could ask: none is followed
            raise httpcore.ConnectError(f"{host} was not checked; only {self._checked.host} was")
        return await self._backend.connect_tcp(
            self._checked.address, port, timeout, local_address, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
