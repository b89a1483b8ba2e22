"""Which hosts the server may send a user-supplied request to (TASKYARD_OUTBOUND_ALLOWED_HOSTS).

A URL a user gives (a webhook's, a Slack incoming webhook's) is fetched from inside the
server's network, so by default only globally routable addresses are allowed: else anyone
who may add a notification channel could reach the server's own ports, its neighbours or
the cloud's metadata service, and read the answers' status codes in the delivery log.

The setting is a comma-separated list in Gitea's vocabulary (its
``webhook.ALLOWED_HOST_LIST``): ``external``, ``loopback``, ``private``, ``*``, CIDRs
and host names with ``*`` globs. Link-local and metadata addresses stay refused unless
``*`` or a CIDR inside those ranges names them: a broad ``private`` or ``10.0.0.0/8``
must not open the metadata service by accident.

Pure: parsing and judging only; resolving names is ``taskyard.notify.outbound``'s job.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "TASKYARD_OUTBOUND_ALLOWED_HOSTS"
KEYWORDS = ("external", "loopback", "private", "*")
PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
# Link-local (where AWS, GCP and Azure answer at 169.254.169.254) and the metadata
# services that live elsewhere (Alibaba inside CGNAT space, AWS's IPv6 one inside ULA).
SENSITIVE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128")
)
HOST_PATTERN = re.compile(r"[a-z0-9*?_-]+(\.[a-z0-9*?_-]+)*\.?")
# What inet_aton reads as an IPv4 address besides dotted quads: 2130706433, 0x7f.1, 017.1
NUMERIC_V4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)


@dataclass(frozen=True)
class AllowedHosts:
    """The parsed setting."""

    keywords: frozenset[str]
    networks: tuple[Network, ...]
    names: tuple[str, ...]  # lower-case globs
    text: str  # as the administrator wrote it, for messages

    def names_host(self, host: str) -> bool:
        """Whether a host-name entry matches ``host`` (its addresses are still checked
        against the link-local and metadata ranges)."""
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, name.rstrip(".")) for name in self.names)

    def refusal(self, address: Address, host_named: bool) -> str:
        """Why ``address`` may not be reached ("" if it may)."""
        address = unmapped(address)
        if "*" in self.keywords:
            return ""
        if any(address in net for net in SENSITIVE):
            if any(address in net and _sensitive(net) for net in self.networks):
                return ""
            return "a link-local or cloud metadata address"
        if host_named or any(address in net for net in self.networks):
            return ""
        kind = category(address)
        return "" if kind in self.keywords else f"a {kind} address" if kind else "not routable"


def _sensitive(network: Network) -> bool:
    return any(
        network.version == s.version and network.subnet_of(s)  # type: ignore[arg-type]
        for s in SENSITIVE
    )


def unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def category(address: Address) -> str:
    """``loopback``, ``private`` or ``external`` (globally routable); "" for the rest
    (unspecified, multicast, reserved, documentation ranges)."""
    address = unmapped(address)
    if address.is_loopback:
        return "loopback"
    if any(address in net for net in PRIVATE):
        return "private"
    if address.is_global and not address.is_multicast:
        return "external"
    return ""


def ip_literal(host: str) -> Address | None:
    """``host`` as the address it spells, in any form a resolver would read (``[::1]``,
    ``::ffff:127.0.0.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``); None for a name."""
    host = host.strip("[]")
    try:
        return unmapped(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if NUMERIC_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse(text: str) -> AllowedHosts:
    """The setting's value parsed; ``ValueError`` naming every entry it cannot read."""
    entries = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not entries:
        raise ValueError(f"{SETTING} names nothing: use `external` (the default) or more.")
    keywords, networks, names, bad = set(), [], [], []
    for entry in entries:
        if entry in KEYWORDS:
            keywords.add(entry)
        elif "/" in entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                bad.append(entry)
        elif (address := ip_literal(entry)) is not None:
            networks.append(ipaddress.ip_network(address))
        elif HOST_PATTERN.fullmatch(entry) and ("." in entry or "*" in entry):
            # A dot or a glob, so that a misspelt keyword (`loopbak`) is an error; a
            # one-label name is written with its root dot (`hooks.`).
            names.append(entry)
        else:
            bad.append(entry)
    if bad:
        raise ValueError(
            f"{SETTING} has entries it cannot read: {', '.join(repr(b) for b in bad)}. Each is "
            "external, loopback, private, *, a CIDR (10.1.0.0/16) or a host name "
            "(hooks.example.com, *.internal.example; a one-label name ends in a dot: hooks.)."
        )
    return AllowedHosts(frozenset(keywords), tuple(networks), tuple(names), ",".join(entries))
