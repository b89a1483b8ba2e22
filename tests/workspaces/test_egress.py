"""The egress proxy and the Unix-socket bridge, against real loopback servers.

The origin servers listen on the host's loopback, which the proxy refuses
unless ``network.allow`` names ``127.0.0.1`` by address: the tests that reach
them allow it so, on the origin's port; the attack tests show the rest refused.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskyard.model import hosts
from taskyard.model.template import Network
from taskyard.workspaces import forwarder
from taskyard.workspaces.egress import EgressProxy, proxy_service
from taskyard.workspaces.egress_policy import EgressPolicy, Target
from taskyard.workspaces.netbridge import Bridge, HostService

# The test servers listen on the host's loopback: an operator who lets templates list it.
LOOPBACK = hosts.parse("loopback")


@pytest.fixture
async def origin() -> AsyncIterator[int]:
    """An HTTP server on loopback that echoes the request line; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # a client that left without asking
            writer.close()
            return
        request_line, *headers = head.split(b"\r\n")
        host = b"".join(h[5:].strip() for h in headers if h.lower().startswith(b"host:"))
        body = b"origin saw: " + request_line
        writer.write(
            b"HTTP/1.1 200 OK\r\nSeen-Host: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (host, len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
async def proxy(origin: int) -> AsyncIterator[EgressProxy]:
    allow = ["127.0.0.1", "*.example.test"]
    proxy = EgressProxy(allow, ports=[80, 443, origin], reachable=LOOPBACK)
    await proxy.start()
    yield proxy
    await proxy.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_plain_http_to_an_allowed_host(proxy: EgressProxy, origin: int) -> None:
    async with httpx.AsyncClient(timeout=30, proxy=f"http://{proxy.target}") as client:
        response = await client.get(f"http://127.0.0.1:{origin}/path?q=1")
    assert response.status_code == 200
    # The proxy forwards in origin form, as a server expects.
    assert response.text == "origin saw: GET /path?q=1 HTTP/1.1"
    assert response.headers["seen-host"] == f"127.0.0.1:{origin}"


async def test_refuses_hosts_not_allowed(proxy: EgressProxy, origin: int) -> None:
    async with httpx.AsyncClient(timeout=30, proxy=f"http://{proxy.target}") as client:
        response = await client.get(f"http://localhost:{origin}/")
    assert response.status_code == 403
    assert response.text == (
        "taskyard egress proxy: localhost is not in this template's network.allow;"
        f" localhost:{origin} refused\n"
    )


async def connect(proxy: EgressProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if isinstance(proxy.target, Path):
        return await asyncio.open_unix_connection(proxy.target)
    host, port = proxy.target.split(":")
    return await asyncio.open_connection(host, int(port))


async def test_connect_tunnel(proxy: EgressProxy, origin: int) -> None:
    reader, writer = await connect(proxy)
    writer.write(f"CONNECT 127.0.0.1:{origin} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection established\r\n\r\n"
    writer.write(b"GET /tunnelled HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await reader.read()).endswith(b"origin saw: GET /tunnelled HTTP/1.1")
    writer.close()


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("CONNECT localhost:443 HTTP/1.1", b"403"),
        ("CONNECT :443 HTTP/1.1", b"400"),
        ("CONNECT 127.0.0.1:99999 HTTP/1.1", b"400"),
        ("GET http://127.0.0.1:99999/ HTTP/1.1", b"400"),
        ("GET https://127.0.0.1/ HTTP/1.1", b"400"),
        ("nonsense", b"400"),
    ],
)
async def test_bad_or_refused_requests(
    proxy: EgressProxy, request_line: str, status: bytes
) -> None:
    reader, writer = await connect(proxy)
    writer.write(f"{request_line}\r\n\r\n".encode())
    assert (await reader.read()).split(b" ")[1] == status
    writer.close()


async def test_unreachable_upstream_is_a_502() -> None:
    port = free_port()
    proxy = EgressProxy(["127.0.0.1"], ports=[port], reachable=LOOPBACK)
    await proxy.start()
    try:
        async with httpx.AsyncClient(timeout=30, proxy=f"http://{proxy.target}") as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
    finally:
        await proxy.close()
    assert response.status_code == 502
    assert f"127.0.0.1:{port} not reached" in response.text


async def test_unix_socket_and_decisions(tmp_path: Path, origin: int) -> None:
    decisions: list[tuple[str, int, bool]] = []
    proxy = EgressProxy(
        ["127.0.0.1"],
        ports=[origin],
        socket_path=tmp_path / "egress.sock",
        on_decision=lambda *d: decisions.append(d),
        reachable=LOOPBACK,
    )
    await proxy.start()
    try:
        for host in ("127.0.0.1", "example.org"):
            reader, writer = await connect(proxy)
            writer.write(f"GET http://{host}:{origin}/ HTTP/1.1\r\nHost: h\r\n\r\n".encode())
            await reader.read()
            writer.close()
    finally:
        await proxy.close()
    assert decisions == [("127.0.0.1", origin, True), ("example.org", origin, False)]


async def test_close_cuts_open_tunnels(
    proxy: EgressProxy, origin: int, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await connect(proxy)
    writer.write(f"CONNECT 127.0.0.1:{origin} HTTP/1.1\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    await proxy.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert [r for r in caplog.records if r.name == "asyncio"] == []


async def test_bridge_relays_tcp_services_over_unix_sockets(tmp_path: Path, origin: int) -> None:
    service = HostService("model", f"127.0.0.1:{origin}", 8080, {"BASE_URL": "{url}/v1"})
    bridge = Bridge([service], tmp_path, python="/usr/bin/python3")
    await bridge.start()
    try:
        reader, writer = await asyncio.open_unix_connection(tmp_path / "model.sock")
        writer.write(b"GET /via-relay HTTP/1.1\r\n\r\n")
        assert (await reader.read()).endswith(b"origin saw: GET /via-relay HTTP/1.1")
        writer.close()
    finally:
        await bridge.close()
    assert bridge.env() == {"BASE_URL": "http://127.0.0.1:8080/v1"}
    assert bridge.command(["agent"]) == [
        "/usr/bin/python3",
        "-I",
        "-S",
        "/run/taskyard/forwarder.py",
        "--forward",
        "8080=/run/taskyard/model.sock",
        "--",
        "agent",
    ]
    assert "/run/taskyard/model.sock" in bridge.bwrap_args()


async def test_a_bridge_closing_mid_connect_closes_the_sandbox_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection whose upstream is still being reached when the turn ends is closed,
    not left open for the garbage collector."""
    connecting = asyncio.Event()

    async def never(*args: object) -> Any:
        connecting.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(asyncio, "open_connection", never)
    bridge = Bridge([HostService("model", "127.0.0.1:9", 8080)], tmp_path)
    await bridge.start()
    try:
        reader, writer = await asyncio.open_unix_connection(tmp_path / "model.sock")
        await asyncio.wait_for(connecting.wait(), 5)
    finally:
        await bridge.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed on the bridge's side
    writer.close()


async def test_bridge_on_a_shared_network(tmp_path: Path, origin: int, proxy: EgressProxy) -> None:
    unix_proxy = EgressProxy(
        ["127.0.0.1"], ports=[origin], socket_path=tmp_path / "p.sock", reachable=LOOPBACK
    )
    await unix_proxy.start()
    services = [HostService("api", f"127.0.0.1:{origin}", 1), proxy_service(tmp_path / "p.sock")]
    bridge = Bridge(services, tmp_path, shared_network=True)
    await bridge.start()
    try:
        assert bridge.command(["agent"]) == ["agent"]
        assert bridge.bwrap_args() == []
        env = bridge.env()
        assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
        async with httpx.AsyncClient(
            timeout=30, proxy=env["HTTPS_PROXY"], trust_env=False
        ) as client:
            response = await client.get(f"http://127.0.0.1:{origin}/shared")
        assert response.text == "origin saw: GET /shared HTTP/1.1"
    finally:
        await bridge.close()
        await unix_proxy.close()


async def test_forwarder_listens_before_the_command_runs(tmp_path: Path, origin: int) -> None:
    relay = Bridge([HostService("svc", f"127.0.0.1:{origin}", 0)], tmp_path)
    await relay.start()
    port = free_port()
    fetch = (
        f"import socket; s = socket.create_connection(('127.0.0.1', {port}));"
        "s.sendall(b'GET /forwarded HTTP/1.1\\r\\n\\r\\n'); print(s.makefile('rb').read()[-40:])"
    )
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            forwarder.__file__,
            "--forward",
            f"{port}={tmp_path / 'svc.sock'}",
            "--",
            sys.executable,
            "-c",
            fetch,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 10)
    finally:
        await relay.close()
    assert process.returncode == 0
    assert b"origin saw: GET /forwarded HTTP/1.1" in out
    # The detached forwarder holds stderr until it exits, so communicate()
    # returning means it followed the command out (reset: its last moment).
    with pytest.raises((ConnectionRefusedError, ConnectionResetError)):
        await asyncio.open_connection("127.0.0.1", port)


# --- Attacks on the allowlist: each host below must not reach the host's loopback.


async def ask(proxy: EgressProxy, request_line: str, host: str = "h") -> tuple[int, str]:
    """Send one request head through ``proxy``; its status and body."""
    reader, writer = await connect(proxy)
    writer.write(f"{request_line}\r\nHost: {host}\r\n\r\n".encode())
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode()


@pytest.fixture
async def proxy_for(origin: int) -> AsyncIterator[Callable[..., Awaitable[EgressProxy]]]:
    """Starts proxies with a given allowlist (and the origin's port allowed)."""
    started: list[EgressProxy] = []

    async def start(allow: list[str], **kwargs: Any) -> EgressProxy:
        kwargs.setdefault("ports", [80, 443, origin])
        kwargs.setdefault("reachable", LOOPBACK)
        proxy = EgressProxy(allow, **kwargs)
        await proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.close()


def requests_for(host: str, port: int) -> list[str]:
    """The same destination as a tunnel and as a plain HTTP request."""
    authority = f"{host}:{port}"
    return [f"CONNECT {authority} HTTP/1.1", f"GET http://{authority}/ HTTP/1.1"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "LocalHost."])
async def test_an_allowed_name_resolving_to_loopback_is_refused(
    proxy_for: Any, origin: int, host: str
) -> None:
    proxy = await proxy_for(["localhost"])
    for request in requests_for(host, origin):
        status, body = await ask(proxy, request)
        assert status == 403, body
        expected = (
            f"taskyard egress proxy: {host} resolves to 127.0.0.1, a loopback address; list"
            f" that address in network.allow to reach it on purpose; {host}:{origin} refused\n"
        )
        assert body.lower() == expected.lower()  # a plain HTTP URL's host arrives lowercased


@pytest.mark.parametrize(
    ("allow", "host"),
    [
        (["localhost", "127.0.0.1"], "localhost"),
        (["127.0.0.1"], "127.0.0.1."),
        (["127.0.0.1"], "[::ffff:127.0.0.1]"),  # the same address, by value
        (["::ffff:127.0.0.1"], "127.0.0.1"),
    ],
)
async def test_an_address_named_in_the_allowlist_is_reached(
    proxy_for: Any, origin: int, allow: list[str], host: str
) -> None:
    proxy = await proxy_for(allow)
    status, body = await ask(proxy, f"GET http://{host}:{origin}/x HTTP/1.1")
    assert (status, body) == (200, "origin saw: GET /x HTTP/1.1")


@pytest.mark.parametrize(
    ("operator", "allow", "host", "address"),
    [
        ("external", ["127.0.0.1"], "127.0.0.1", "127.0.0.1"),  # the default
        ("external", ["::1"], "[::1]", "::1"),
        ("external", ["localhost", "127.0.0.1"], "localhost", "127.0.0.1"),
        ("private", ["127.0.0.1"], "127.0.0.1", "127.0.0.1"),  # private is not loopback
        ("loopback,private", ["169.254.169.254"], "169.254.169.254", "169.254.169.254"),
        ("loopback,10.0.0.0/8", ["api.example.test", "169.254.169.254"], "api.example.test",
         "169.254.169.254"),  # a name: its address is still checked
    ],
)  # fmt: skip
async def test_a_listed_non_public_address_needs_the_operators_consent(
    proxy_for: Any, origin: int, operator: str, allow: list[str], host: str, address: str
) -> None:
    """A template is an organization member's; the host's loopback, its neighbours and
    the metadata service are the whole server's: listing them is not enough."""
    proxy = await proxy_for(allow, reachable=hosts.parse(operator))
    proxy.policy.resolver = Dns([address])
    for request in requests_for(host, origin):
        status, body = await ask(proxy, request)
        assert status == 403, body
        assert f"is {address}, a " in body and "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in body


async def test_ports_beyond_network_ports_are_refused(proxy_for: Any, origin: int) -> None:
    proxy = await proxy_for(["127.0.0.1"], ports=[80, 443])
    for port in (22, origin):
        for request in requests_for("127.0.0.1", port):
            status, body = await ask(proxy, request)
            assert status == 403, body
            assert body == (
                "taskyard egress proxy: 127.0.0.1 is allowed on ports 80, 443 only"
                f" (network.ports), not on {port}; 127.0.0.1:{port} refused\n"
            )


@pytest.mark.parametrize(
    "host",
    [
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "[fe80::1%lo]",
        "[::]",
    ],
)
async def test_ipv6_forms_of_host_addresses_are_refused(
    proxy_for: Any, origin: int, host: str
) -> None:
    proxy = await proxy_for(["localhost", "*.example.test"])
    status, body = await ask(proxy, f"CONNECT {host}:{origin} HTTP/1.1")
    assert status == 403
    assert "is not in this template's network.allow" in body


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1", "0x7f.0.0.1."]
)
async def test_legacy_ipv4_forms_are_refused(proxy_for: Any, origin: int, host: str) -> None:
    proxy = await proxy_for(["127.0.0.1", "2130706433", "*.1"])
    for request in requests_for(host, origin):
        status, body = await ask(proxy, request)
        assert status == 403, body
        assert "is an IPv4 address in a non-standard form: write it as a dotted quad" in body


@pytest.mark.parametrize(
    ("request_line", "status", "message"),
    [
        # userinfo does not stand in for the host
        ("GET http://127.0.0.1@blocked.test/ HTTP/1.1", 403, "blocked.test is not in"),
        ("GET http://a.example.test%00.127.0.0.1/ HTTP/1.1", 400, "is not a valid host name"),
        ("CONNECT a.example.test\x00.evil:443 HTTP/1.1", 400, "is not a valid host name"),
        ("CONNECT -x.example.test:443 HTTP/1.1", 400, "is not a valid host name"),
    ],
)
async def test_malformed_hosts(
    proxy_for: Any, request_line: str, status: int, message: str
) -> None:
    proxy = await proxy_for(["127.0.0.1", "*.example.test"])
    assert (await ask(proxy, request_line))[0] == status
    assert message in (await ask(proxy, request_line))[1]


async def test_host_header_comes_from_the_checked_url(proxy: EgressProxy, origin: int) -> None:
    # An allowed server must not be asked for a virtual host the allowlist lacks.
    async with httpx.AsyncClient(timeout=30, proxy=f"http://{proxy.target}") as client:
        response = await client.get(
            f"http://127.0.0.1:{origin}/", headers={"Host": "metadata.internal"}
        )
    assert response.headers["seen-host"] == f"127.0.0.1:{origin}"


class Dns:
    """Stands in for a DNS server that an attacker controls: scripted answers, counted."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[Target]:
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, (a, port, 0, 0)) if ":" in a else (socket.AF_INET, (a, port))
            for a in answer
        ]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("::1", "loopback"),
        ("fd00::1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local (as 169.254.169.254)"),
    ],
)
async def test_names_resolving_to_non_public_addresses_are_refused(
    proxy_for: Any, address: str, kind: str
) -> None:
    proxy = await proxy_for(["*.example.test"])
    proxy.policy = EgressPolicy(["*.example.test"], resolver=Dns([address]))
    status, body = await ask(proxy, "CONNECT api.example.test:443 HTTP/1.1")
    assert status == 403
    shown = address.removeprefix("::ffff:")
    assert f"api.example.test resolves to {shown}, a {kind} address;" in body


async def test_connects_to_the_address_it_checked(origin: int, proxy_for: Any) -> None:
    # The first answer holds a private address and the allowed one; any later
    # answer rebinds to a private one. The proxy looks up once, drops what it
    # refuses, and connects to the address it checked: were it to look up
    # again, or to try 10.0.0.1, this would end in a 403 or a 504.
    dns = Dns(["10.0.0.1", "127.0.0.1"], ["10.0.0.2"])
    proxy = await proxy_for([], connect_timeout=5)
    proxy.policy = EgressPolicy(
        ["api.example.test", "127.0.0.1"], [origin], resolver=dns, reachable=LOOPBACK
    )
    status, body = await ask(proxy, f"GET http://api.example.test:{origin}/ HTTP/1.1")
    assert (status, body) == (200, "origin saw: GET / HTTP/1.1")
    assert dns.lookups == 1


async def test_a_name_that_does_not_resolve_is_a_502(proxy_for: Any) -> None:
    proxy = await proxy_for([])
    proxy.policy = EgressPolicy(["api.example.test"], resolver=Dns([]))
    status, body = await ask(proxy, "CONNECT api.example.test:443 HTTP/1.1")
    assert status == 502
    assert "api.example.test could not be resolved" in body


@pytest.mark.parametrize("ports", [[0], [65536], ["ssh"]])
def test_template_ports_are_validated(ports: list[object]) -> None:
    with pytest.raises(ValueError, match=r"ports\.0"):
        Network(ports=ports)  # type: ignore[arg-type]
    assert Network().ports == [80, 443]


async def test_upstream_connections_send_without_waiting_on_nagle() -> None:
    from taskyard.workspaces.egress import _open

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await _open([(socket.AF_INET, ("127.0.0.1", port))])
        sock = writer.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
