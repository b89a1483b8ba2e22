"""The egress proxy and the Unix-socket bridge, against real loopback servers."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from taskyard.workspaces import netbridge
from taskyard.workspaces.egress import EgressProxy, host_allowed, proxy_service
from taskyard.workspaces.netbridge import Bridge, HostService


@pytest.fixture
async def origin() -> AsyncIterator[int]:
    """An HTTP server on loopback that echoes the request line; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # a client that left without asking
            writer.close()
            return
        body = b"origin saw: " + head.split(b"\r\n")[0]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
async def proxy() -> AsyncIterator[EgressProxy]:
    proxy = EgressProxy(["127.0.0.1", "*.example.test"])
    await proxy.start()
    yield proxy
    await proxy.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


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
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["127.0.0.1", "*.example.test"]) is allowed


async def test_plain_http_to_an_allowed_host(proxy: EgressProxy, origin: int) -> None:
    async with httpx.AsyncClient(proxy=f"http://{proxy.target}") as client:
        response = await client.get(f"http://127.0.0.1:{origin}/path?q=1")
    assert response.status_code == 200
    # The proxy forwards in origin form, as a server expects.
    assert response.text == "origin saw: GET /path?q=1 HTTP/1.1"


async def test_refuses_hosts_not_allowed(proxy: EgressProxy, origin: int) -> None:
    async with httpx.AsyncClient(proxy=f"http://{proxy.target}") as client:
        response = await client.get(f"http://localhost:{origin}/")
    assert response.status_code == 403
    assert "localhost is not in this template's network.allow" in response.text


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


async def test_unreachable_upstream_is_a_502(proxy: EgressProxy) -> None:
    async with httpx.AsyncClient(proxy=f"http://{proxy.target}") as client:
        response = await client.get(f"http://127.0.0.1:{free_port()}/")
    assert response.status_code == 502


async def test_unix_socket_and_decisions(tmp_path: Path, origin: int) -> None:
    decisions: list[tuple[str, int, bool]] = []
    proxy = EgressProxy(
        ["127.0.0.1"],
        socket_path=tmp_path / "egress.sock",
        on_decision=lambda *d: decisions.append(d),
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
        "/run/taskyard/netbridge.py",
        "--forward",
        "8080=/run/taskyard/model.sock",
        "--",
        "agent",
    ]
    assert "/run/taskyard/model.sock" in bridge.bwrap_args()


async def test_bridge_on_a_shared_network(tmp_path: Path, origin: int, proxy: EgressProxy) -> None:
    unix_proxy = EgressProxy(["127.0.0.1"], socket_path=tmp_path / "p.sock")
    await unix_proxy.start()
    services = [HostService("api", f"127.0.0.1:{origin}", 1), proxy_service(tmp_path / "p.sock")]
    bridge = Bridge(services, tmp_path, shared_network=True)
    await bridge.start()
    try:
        assert bridge.command(["agent"]) == ["agent"]
        assert bridge.bwrap_args() == []
        env = bridge.env()
        assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
        async with httpx.AsyncClient(proxy=env["HTTPS_PROXY"], trust_env=False) as client:
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
            netbridge.__file__,
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
