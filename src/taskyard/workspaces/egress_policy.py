"""What the egress proxy lets through: hosts, ports and the addresses behind them.

Kept apart from the proxy (:mod:`taskyard.workspaces.egress`) because this is
the part an attacker works on: every way of writing a host or an address that
the host's resolver reads differently from a string comparison. The rules:

- a host is a name or an address in its standard form; legacy IPv4 forms
  (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are refused outright;
- names compare ignoring case and a trailing dot, addresses by value (an IPv6
  literal, an IPv4-mapped one and its dotted quad are the same address);
- every address a name resolves to must be public unicast, or named in
  ``network.allow`` by address: loopback, link-local, private (RFC 1918, ULA),
  carrier-grade NAT, multicast, unspecified, reserved and documentation
  ranges are not, nor are IPv6 forms that embed such an IPv4 address
  (mapped, IPv4-compatible, 6to4, NAT64);
- a non-public address named in ``network.allow`` must also be one the
  server's operator lets users reach (``TASKYARD_OUTBOUND_ALLOWED_HOSTS``,
  by default none): a template is written by an organization's member, and
  the host's loopback and neighbours are the whole server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from taskyard.model import hosts

DEFAULT_PORTS = (80, 443)
"""Ports reachable when a template's ``network.ports`` does not say."""

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# IPv6 forms that carry an IPv4 address in their last 32 bits (NAT64, and the
# deprecated IPv4-compatible form); mapped and 6to4 ones ipaddress unpacks itself.
_EMBEDDING = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Target = tuple[int, Any]
"""An address family and a socket address in it, as ``getaddrinfo`` gives them."""
Resolver = Callable[[str, int], Awaitable[list[Target]]]


class Refused(Exception):
    """A request the policy turns away; ``reason`` completes "<host> ..."."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _address(text: str) -> Address | None:
    """``text`` as an address in its one standard form, without a zone; else None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return ipaddress.IPv6Address(int(address))  # drops a %zone
    return address


def _normalize(host: str) -> str:
    """``host`` lowercased, without brackets or a trailing dot.

    Raises:
        Refused: ``host`` is neither a host name nor an address (400), or an
            IPv4 address in a legacy form (``2130706433``, ``0x7f.1``, ``127.1``)
            that the host's resolver would read as some address (403).
    """
    host = host.strip("[]").rstrip(".").lower()
    if _address(host) is not None:
        return host
    with contextlib.suppress(OSError, ValueError):
        socket.inet_aton(host)
        raise Refused("is an IPv4 address in a non-standard form: write it as a dotted quad")
    if not _HOST_NAME.fullmatch(host):
        raise Refused("is not a valid host name", 400)
    return host


def address_kind(address: Address) -> str:
    """What makes ``address`` non-public ("loopback", "private", ...); "" if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and not (
        address.is_loopback or address.is_unspecified
    ):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and any(address in net for net in _EMBEDDING):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            kind = address_kind(inner)
            return f"{kind} (as {inner})" if kind else ""
    kinds = [
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    ]
    if isinstance(address, ipaddress.IPv6Address):
        kinds.append(("non-public", address not in _GLOBAL_UNICAST))  # site-local and others
    return next((kind for kind, applies in kinds if applies), "")


def host_allowed(host: str, allow: Sequence[str]) -> bool:
    """Whether ``host`` matches an entry of ``allow``.

    Entries are exact names or addresses (``api.github.com``, ``10.0.0.5``) or
    wildcards ``*.example.com``, which match any subdomain but not
    ``example.com`` itself. Names compare ignoring case and a trailing dot;
    addresses compare by value (``[0:0::1]`` is ``::1``, ``::ffff:10.0.0.5`` is
    ``10.0.0.5``) and match address entries only, never a wildcard.
    """
    host = host.strip("[]").rstrip(".").lower()
    address = _address(host)
    for entry in allow:
        entry = entry.strip().strip("[]").rstrip(".").lower()
        if address is not None:
            if _address(entry) == address:
                return True
        elif entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == entry:
            return True
    return False


class EgressPolicy:
    """Which hosts, ports and addresses a sandbox may reach.

    Args:
        allow: Host patterns, see :func:`host_allowed`; entries that are
            addresses also let names that resolve to them through.
        ports: Ports allowed on every allowed host.
        resolver: Looks a host up; the host's resolver unless a test stands in
            a DNS server's answers.
        reachable: The non-public addresses the server's operator lets a template's
            ``allow`` name (TASKYARD_OUTBOUND_ALLOWED_HOSTS); by default none.
    """

    def __init__(
        self,
        allow: Sequence[str],
        ports: Sequence[int] = DEFAULT_PORTS,
        resolver: Resolver | None = None,
        reachable: hosts.AllowedHosts | None = None,
    ) -> None:
        self.allow = list(allow)
        self.ports = sorted(set(ports))
        self.resolver = resolver or _getaddrinfo
        self.reachable = reachable or hosts.parse("external")
        self.addresses = {a for a in map(_address, (e.strip().strip("[]") for e in allow)) if a}

    def check(self, host: str, port: int) -> str:
        """``host`` normalized, if the policy lets ``host:port`` through.

        Raises:
            Refused: with what is wrong.
        """
        host = _normalize(host)
        if not host_allowed(host, self.allow):
            raise Refused("is not in this template's network.allow")
        if port not in self.ports:
            ports = ("port " if len(self.ports) == 1 else "ports ") + ", ".join(
                map(str, self.ports)
            )
            raise Refused(f"is allowed on {ports} only (network.ports), not on {port}")
        return host

    async def resolve(self, host: str, port: int) -> list[Target]:
        """The (family, socket address) pairs to connect to, each checked.

        Addresses the policy refuses are left out; when none is left the whole
        request is refused, naming the first.

        Raises:
            Refused: no address may be reached (403), or none was found (502).
        """
        literal = _address(host) is not None
        try:
            found = await self.resolver(host, port)
        except OSError as exc:
            raise Refused(f"could not be resolved: {exc}", 502) from exc
        targets: list[Target] = []
        refused: list[str] = []
        for family, sockaddr in found:
            address = _address(str(sockaddr[0]))
            assert address is not None
            why = self._refusal(host, address, literal)
            if why:
                refused.append(why)
            else:
                targets.append((family, sockaddr))
        if not targets:
            raise Refused(refused[0])
        return targets

    def _refusal(self, host: str, address: Address, literal: bool) -> str:
        """Why ``address`` (of ``host``) may not be reached; "" if it may."""
        kind = address_kind(address)
        if not kind:
            return ""
        # A literal passed check() by its own address: listed explicitly.
        if not (literal or address in self.addresses):
            return (
                f"resolves to {address}, a {kind} address; list that address in "
                "network.allow to reach it on purpose"
            )
        if self.reachable.refusal(address, self.reachable.names_host(host)):
            return (
                f"is {address}, a {kind} address this server keeps sandboxes from: its "
                "operator allows such addresses with TASKYARD_OUTBOUND_ALLOWED_HOSTS"
            )
        return ""


async def _getaddrinfo(host: str, port: int) -> list[Target]:
    loop = asyncio.get_running_loop()
    numeric = socket.AI_NUMERICHOST if _address(host) is not None else 0
    infos = await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=numeric
    )
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]
