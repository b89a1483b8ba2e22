"""TASKYARD_OUTBOUND_ALLOWED_HOSTS: what it reads, what it refuses to read, and how it
judges an address."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from taskyard.config import Settings
from taskyard.model.hosts import category, ip_literal, parse


def test_the_default_is_external_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKYARD_OUTBOUND_ALLOWED_HOSTS", raising=False)
    assert Settings().outbound_allowed_hosts == "external"


@pytest.mark.parametrize("bad", ["loopbak", "10.0.0.0/33", "hooks example", "http://x.example"])
def test_an_entry_it_cannot_read_stops_the_server_and_is_named(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(outbound_allowed_hosts=f"loopback, {bad}")
    assert "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in str(caught.value)
    assert repr(bad) in str(caught.value)


def test_a_setting_that_names_nothing_is_refused() -> None:
    with pytest.raises(ValidationError, match="names nothing"):
        Settings(outbound_allowed_hosts=" , ")


def test_entries_are_read_by_kind() -> None:
    allowed = parse("Loopback, 10.1.0.0/16, fd12::1, 192.0.2.7, *.Internal.example, hooks.")
    assert allowed.keywords == {"loopback"}
    assert [str(n) for n in allowed.networks] == [
        "10.1.0.0/16",
        "fd12::1/128",
        "192.0.2.7/32",
    ]
    assert allowed.names_host("a.internal.example")
    assert allowed.names_host("HOOKS")
    assert not allowed.names_host("internal.example.evil")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:a9fe:a9fe", "169.254.169.254"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_every_spelling_of_an_address_is_the_address(text: str, address: str) -> None:
    assert ip_literal(text) == ipaddress.ip_address(address)


def test_names_are_not_addresses() -> None:
    assert ip_literal("hooks.example.com") is None
    assert ip_literal("0x7g.1") is None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.20.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd00::1", "private"),
        ("93.184.215.14", "external"),
        ("2606:4700::1", "external"),
        ("0.0.0.0", ""),
        ("224.0.0.1", ""),
    ],
)
def test_addresses_fall_into_gitea_s_categories(address: str, expected: str) -> None:
    assert category(ipaddress.ip_address(address)) == expected


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fe80::1", "100.100.100.200", "fd00:ec2::254"]
)
def test_metadata_needs_a_cidr_inside_it_or_a_star(address: str) -> None:
    ip = ipaddress.ip_address(address)
    for wide in ("external,loopback,private", "0.0.0.0/0,::/0", "100.64.0.0/10,fc00::/7"):
        assert parse(wide).refusal(ip, host_named=False), wide
    assert parse("*.example").refusal(ip, host_named=True)  # a named host is not enough
    assert not parse("*").refusal(ip, host_named=False)
    assert not parse(f"{address}").refusal(ip, host_named=False)


def test_a_named_host_may_be_private_but_an_other_may_not() -> None:
    allowed = parse("external,hooks.internal.example")
    private = ipaddress.ip_address("10.0.0.5")
    assert not allowed.refusal(private, host_named=True)
    assert "private" in allowed.refusal(private, host_named=False)
