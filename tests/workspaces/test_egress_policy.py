"""The egress policy's rules for names and addresses, case by case."""

from __future__ import annotations

import ipaddress

import pytest

from taskyard.workspaces.egress_policy import EgressPolicy, Refused, address_kind, host_allowed


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("api.example.test", True),
        ("A.B.Example.Test.", True),
        ("example.test", False),  # a wildcard covers subdomains only
        ("evilexample.test", False),
        ("localhost", False),
        ("[::1]", False),
        ("[::ffff:127.0.0.1]", True),  # addresses compare by value
        ("[::ffff:7f00:1]", True),
        ("127.0.0.1.", True),
        ("1.example.test", True),
        ("10.0.0.1", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["127.0.0.1", "*.example.test"]) is allowed


def test_a_wildcard_never_matches_an_address() -> None:
    assert not host_allowed("10.0.0.1", ["*.0.0.1", "*.1"])
    assert host_allowed("[0:0:0:0:0:0:0:1]", ["[::1]"])


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700:4700::1111", "2002:808:808::1", "64:ff9b::808:808"],
)
def test_public_addresses(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == ""


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.53", "loopback"),
        ("0.1.2.3", "private"),  # 0.0.0.0/8: "this network"
        ("100.127.255.255", "shared (carrier-grade NAT)"),
        ("192.0.2.1", "private"),  # documentation ranges count as non-public too
        ("198.18.0.1", "private"),
        ("255.255.255.255", "private"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fe80::1%eth0", "link-local"),
        ("fec0::1", "non-public"),  # deprecated site-local
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("::ffff:10.0.0.1", "private (as 10.0.0.1)"),
        ("::10.0.0.1", "private (as 10.0.0.1)"),  # IPv4-compatible
        ("2002:a9fe:a9fe::", "link-local (as 169.254.169.254)"),  # 6to4
        ("64:ff9b::7f00:1", "loopback (as 127.0.0.1)"),  # NAT64
    ],
)
def test_non_public_addresses(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("host", "status"),
    [("2130706433", 403), ("0x7f.1", 403), ("1", 403), ("a..b", 400), ("a b", 400), ("", 400)],
)
def test_check_refuses_what_a_resolver_would_read_otherwise(host: str, status: int) -> None:
    with pytest.raises(Refused) as refusal:
        EgressPolicy(["*"]).check(host, 443)
    assert refusal.value.status == status


def test_check_returns_the_normalized_host() -> None:
    policy = EgressPolicy(["*.example.test", "::1"], [443])
    assert policy.check("API.Example.Test.", 443) == "api.example.test"
    assert policy.check("[0::1]", 443) == "0::1"
    with pytest.raises(Refused, match="is allowed on port 443 only"):
        policy.check("api.example.test", 80)
