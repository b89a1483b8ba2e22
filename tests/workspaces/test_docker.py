"""The docker provider, against a scripted Docker Engine API (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.model.errors import InvalidInput
from taskyard.model.template import Limits, Network
from taskyard.workspaces.docker import DockerProcess, DockerProvider
from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.netbridge import Bridge
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.sandbox import SandboxRequest

API = "/v1.41"


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class FakeEngine:
    """Answers the calls the provider makes and records them."""

    def __init__(self, *, status: int = 0, image_missing: bool = False, hold: bool = False):
        self.status = status
        self.image_missing = image_missing
        self.hold = hold  # keep the log stream open until the container is killed
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[Any] = []
        self.killed = asyncio.Event()

    async def logs(self) -> AsyncIterator[bytes]:
        data = frame(1, b"hello\n") + frame(2, b"from stderr\n") + frame(1, b"world\n")
        # Chunks that cut through headers and payloads, as a socket may.
        for start in range(0, len(data), 5):
            yield data[start : start + 5]
        if self.hold:
            await self.killed.wait()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(API)
        self.calls.append((request.method, path, dict(request.url.params)))
        if request.content:
            self.bodies.append(json.loads(request.content))
        match request.method, path:
            case "POST", "/containers/create":
                if self.image_missing:
                    return httpx.Response(404, json={"message": "No such image: img"})
                return httpx.Response(201, json={"Id": "c0ffee", "Warnings": []})
            case "POST", "/images/create":
                self.image_missing = False
                return httpx.Response(200, content=b'{"status":"Pulling"}\n{"status":"Done"}\n')
            case "POST", "/containers/c0ffee/start":
                return httpx.Response(204)
            case "GET", "/containers/c0ffee/logs":
                return httpx.Response(200, content=self.logs())
            case "POST", "/containers/c0ffee/kill":
                self.killed.set()
                return httpx.Response(204)
            case "POST", "/containers/c0ffee/wait":
                return httpx.Response(200, json={"StatusCode": self.status})
            case "GET", "/containers/c0ffee/json":
                return httpx.Response(200, json={"State": {"OOMKilled": self.status == 137}})
            case "DELETE", "/containers/c0ffee":
                return httpx.Response(204)
        return httpx.Response(500, json={"message": f"unexpected {request.method} {path}"})


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


def provider(engine: FakeEngine) -> DockerProvider:
    return DockerProvider("img:1", transport=httpx.MockTransport(engine.handle))


def request_for(tmp_path: Path, **kwargs: Any) -> SandboxRequest:
    kwargs.setdefault("network", Network(policy="none"))
    return SandboxRequest(
        argv=["agent", "--go"],
        env={"GIVEN": "1"},
        workdir=tmp_path / "checkout",
        home=tmp_path / "home",
        task_key="TY-7",
        limits=Limits(memory_mb=256, processes=64),
        **kwargs,
    )


async def test_runs_a_turn_in_a_container(engine: FakeEngine, tmp_path: Path) -> None:
    engine.status = 3
    process = await provider(engine).spawn(request_for(tmp_path))
    output = await asyncio.wait_for(process.stdout.read(), 5)
    assert await process.wait() == 3
    assert output == b"hello\nfrom stderr\nworld\n"
    name = engine.calls[0][2]["name"]
    assert name.startswith("taskyard-ty-7-")
    assert engine.calls == [
        ("POST", "/containers/create", {"name": name}),
        ("POST", "/containers/c0ffee/start", {}),
        ("GET", "/containers/c0ffee/logs", {"follow": "1", "stdout": "1", "stderr": "1"}),
        ("POST", "/containers/c0ffee/wait", {}),
        ("GET", "/containers/c0ffee/json", {}),
        ("DELETE", "/containers/c0ffee", {"force": "1", "v": "1"}),
    ]
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    assert engine.bodies == [
        {
            "Image": "img:1",
            "Cmd": ["agent", "--go"],
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"HOME={home}",
                "LANG=C.UTF-8",
                "TMPDIR=/tmp",
                "GIVEN=1",
            ],
            "WorkingDir": str(checkout),
            "User": "{}:{}".format(*(sandbox_ids() or (os.getuid(), os.getgid()))),
            "Labels": {"taskyard.task": "TY-7"},
            "HostConfig": {
                "Binds": [f"{checkout}:{checkout}:rw", f"{home}:{home}:rw"],
                "Memory": 256 << 20,
                "MemorySwap": 256 << 20,
                "PidsLimit": 64,
                "NetworkMode": "none",
                "ReadonlyRootfs": True,
                "Tmpfs": {"/tmp": "rw,nosuid,nodev"},
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "Init": True,
            },
        }
    ]
    assert isinstance(process, DockerProcess) and not process.oom_killed


async def test_allowlist_carries_the_egress_proxy_in(engine: FakeEngine, tmp_path: Path) -> None:
    network = Network(policy="allowlist", allow=["pypi.org"])
    process = await provider(engine).spawn(request_for(tmp_path, network=network))
    body = engine.bodies[0]
    socket_bind = next(b for b in body["HostConfig"]["Binds"] if "egress.sock" in b)
    host_socket = Path(socket_bind.split(":")[0])
    assert socket_bind == f"{host_socket}:/run/taskyard/egress.sock:rw"
    assert host_socket.is_socket()  # the proxy listens while the container runs
    assert body["HostConfig"]["NetworkMode"] == "none"
    assert body["Cmd"] == [
        "python3",
        "-I",
        "-S",
        "/run/taskyard/forwarder.py",
        "--forward",
        "3128=/run/taskyard/egress.sock",
        "--",
        "agent",
        "--go",
    ]
    assert "HTTPS_PROXY=http://127.0.0.1:3128" in body["Env"]
    assert "NO_PROXY=localhost,127.0.0.1,::1" in body["Env"]
    assert await process.wait() == 0
    assert not host_socket.parent.exists()  # proxy closed, runtime dir removed


async def test_full_network_and_stdin(engine: FakeEngine, tmp_path: Path) -> None:
    request = request_for(tmp_path, network=Network(policy="full"), stdin="the prompt")
    process = await provider(engine).spawn(request)
    body = engine.bodies[0]
    assert body["HostConfig"]["NetworkMode"] == "bridge"
    stdin_bind = body["HostConfig"]["Binds"][-1]
    assert stdin_bind.endswith(":/run/taskyard/stdin:ro")
    assert Path(stdin_bind.split(":")[0]).read_text() == "the prompt"
    assert body["Cmd"] == ["sh", "-c", 'exec "$@" < /run/taskyard/stdin', "sh", "agent", "--go"]
    await process.wait()


async def test_pulls_a_missing_image(tmp_path: Path) -> None:
    engine = FakeEngine(image_missing=True)
    process = await provider(engine).spawn(request_for(tmp_path), image="template/image:2")
    await process.wait()
    assert engine.bodies[0]["Image"] == engine.bodies[1]["Image"] == "template/image:2"
    assert [c[:2] for c in engine.calls[:4]] == [
        ("POST", "/containers/create"),
        ("POST", "/images/create"),
        ("POST", "/containers/create"),
        ("POST", "/containers/c0ffee/start"),
    ]
    assert engine.calls[1][2] == {"fromImage": "template/image:2"}


async def test_kill_kills_and_removes_the_container(tmp_path: Path) -> None:
    engine = FakeEngine(hold=True, status=137)
    process = await provider(engine).spawn(request_for(tmp_path))
    assert await asyncio.wait_for(process.stdout.readline(), 5) == b"hello\n"
    await asyncio.wait_for(process.kill(), 5)
    assert ("POST", "/containers/c0ffee/kill", {"signal": "KILL"}) in engine.calls
    assert engine.calls[-1][:2] == ("DELETE", "/containers/c0ffee")
    assert await process.wait() == 137
    assert isinstance(process, DockerProcess) and process.oom_killed


async def test_engine_errors_are_reported(tmp_path: Path) -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(409, json={"message": "name already in use"})
    )
    with pytest.raises(InvalidInput, match="name already in use"):
        await DockerProvider(transport=transport).spawn(request_for(tmp_path))


def test_missing_socket_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Docker socket .* missing"):
        DockerProvider(socket_path=tmp_path / "docker.sock").check_available()


@pytest.mark.skipif(Path("/var/run/docker.sock").exists(), reason="a Docker engine is present")
def test_registered_and_checked() -> None:
    with pytest.raises(InvalidInput, match=r"Docker socket /var/run/docker\.sock missing"):
        provider_for("docker", Settings())


def test_the_templates_image_is_used(tmp_path: Path) -> None:
    provider = DockerProvider(image="python:3.11-slim-bookworm")
    request = SandboxRequest(
        argv=["true"], env={}, workdir=tmp_path, home=tmp_path, image="node:22-bookworm"
    )
    assert provider.container_spec(request, Bridge([], tmp_path), tmp_path)["Image"] == (
        "node:22-bookworm"
    )
