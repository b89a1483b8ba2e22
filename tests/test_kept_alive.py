"""No request on a kept-alive connection waits on TCP.

uvicorn writes a response's headers and its body in separate sends. Unless the
server's end of the connection has ``TCP_NODELAY``, Nagle's algorithm holds the
body back until the client acknowledges the headers, some 40 ms later with
delayed ACKs: every request after a connection's first paid that (the figures are
in ``bench/overhead.py``). These tests check that cause where it lives: the
option on the server's end of a real kept-alive connection, read from the
server's process with ``pidfd_getfd(2)``: for ``taskyard serve``, a worker's
gateway, and the forwarder that carries a sandboxed agent's requests to it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from taskyard.config import Settings
from taskyard.gateway import Gateway
from taskyard.services.gateway_ledger import DatabaseLedger
from taskyard.workspaces import forwarder
from taskyard.workspaces.netbridge import Bridge, HostService
from tests.conftest import ADMIN_TOKEN
from tests.support.process import ServeProcess
from tests.workspaces.test_egress import free_port

_PIDFD_GETFD = 438  # the same number on every architecture Linux has


def _kept_alive(host: str, port: int, path: str) -> socket.socket:
    """A connection to ``host:port`` that has had two answered requests and stays open."""
    client = socket.create_connection((host, port), timeout=30)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        for _ in range(2):
            client.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                assert chunk, f"the server closed the connection: {head!r}"
                head += chunk
            headers, _, body = head.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += client.recv(65536)
    except BaseException:
        client.close()
        raise
    return client


def _server_end_nodelay(pids: list[int], client: socket.socket) -> int:
    """``TCP_NODELAY`` on the server's end of ``client``'s connection, held by one of ``pids``."""
    libc = ctypes.CDLL(None, use_errno=True)
    ours = client.getsockname()
    for pid in pids:
        pidfd = os.pidfd_open(pid)
        try:
            for entry in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if not os.readlink(entry).startswith("socket:"):
                        continue
                except FileNotFoundError:  # closed meanwhile
                    continue
                fd = libc.syscall(_PIDFD_GETFD, pidfd, int(entry.name), 0)
                if fd < 0:
                    continue  # closed meanwhile
                with socket.socket(fileno=fd) as theirs:
                    if theirs.family not in (socket.AF_INET, socket.AF_INET6):
                        continue
                    try:
                        peer = theirs.getpeername()
                    except OSError:  # a listener
                        continue
                    if peer[:2] == ours[:2]:
                        return theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            os.close(pidfd)
    raise AssertionError(f"none of {pids} holds the server's end of the connection from {ours}")


@pytest.mark.slow
def test_taskyard_serve_sends_without_nagle(tmp_path: Path, temporal_address: str) -> None:
    serve = ServeProcess(
        tmp_path / "data",
        {
            "TASKYARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "TASKYARD_SECRET_KEY": "test-secret-key",
            "TASKYARD_TEMPORAL_ADDRESS": temporal_address,
            "TASKYARD_TASK_QUEUE": f"test-{uuid.uuid4()}",
            "TASKYARD_RUN_WORKER": "false",
        },
    )
    try:
        url = urlsplit(serve.start())
        assert url.hostname is not None and url.port is not None
        assert serve.process is not None
        with _kept_alive(url.hostname, url.port, "/healthz") as client:
            assert _server_end_nodelay([serve.process.pid], client)
    finally:
        serve.stop()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A worker's gateway; its 404 for an unknown route asks nothing of the database."""
    settings = Settings(data_dir=tmp_path / "data")
    running = Gateway(settings, DatabaseLedger(settings))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_the_gateway_sends_without_nagle(gateway: Gateway) -> None:
    client = await asyncio.to_thread(_kept_alive, "127.0.0.1", gateway.port, "/nothing")
    with client:
        assert _server_end_nodelay([os.getpid()], client)


async def test_the_sandbox_forwarder_sends_without_nagle(gateway: Gateway, tmp_path: Path) -> None:
    """An agent in a sandbox of its own network reaches the gateway through the bridge's
    forwarder, which relays each response to it in as many writes as it reads."""
    port = free_port()
    bridge = Bridge([HostService("gateway", f"127.0.0.1:{gateway.port}", port)], tmp_path)
    await bridge.start()
    forward = f"{port}={tmp_path / 'gateway.sock'}"
    agent = await asyncio.create_subprocess_exec(
        sys.executable, forwarder.__file__, "--forward", forward, "--", "sleep", "60"
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # the forwarder listens once the agent runs
            try:
                client = await asyncio.to_thread(_kept_alive, "127.0.0.1", port, "/nothing")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the forwarder never listened"
                await asyncio.sleep(0.02)
        forwarders = [
            int(proc.name)
            for proc in Path("/proc").iterdir()
            if proc.name.isdigit() and _cmdline_has(proc, forward)
        ]
        with client:
            assert _server_end_nodelay(forwarders, client)
    finally:
        agent.kill()  # the forwarder follows the agent out
        await agent.wait()
        await bridge.close()


def _cmdline_has(proc: Path, word: str) -> bool:
    try:
        return word.encode() in (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:  # gone meanwhile
        return False
