"""The links taskyard writes point where a browser can go."""

from __future__ import annotations

import socket

from taskyard.server import _public_url


def test_a_wildcard_address_is_replaced_by_the_machine_name() -> None:
    assert _public_url("127.0.0.1", 8420) == "http://127.0.0.1:8420"
    assert _public_url("::1", 8420) == "http://[::1]:8420"
    for wildcard in ("0.0.0.0", "::"):
        assert _public_url(wildcard, 8420) == f"http://{socket.getfqdn()}:8420"
