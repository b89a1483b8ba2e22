"""The ``docker`` sandbox: each agent turn in a fresh container.

Talks to the Docker Engine HTTP API over its Unix socket (Podman's
Docker-compatible socket works too): create, start, follow the logs, wait,
remove. The container gets the image's filesystem read-only, with the checkout
and home bound read-write at their host paths, tool caches read-only, a private
``/tmp``, no capabilities, ``no-new-privileges``, memory and pids limits, and an
init process that reaps orphans.

The image is the template's (``SandboxRequest.image``), else the provider's
(``DockerProvider(image=...)``).
For network policy ``allowlist`` the container has no network and reaches its
egress proxy through :mod:`taskyard.workspaces.netbridge`, which needs
``python3`` in the image; ``none`` has no network; ``full`` uses Docker's
default bridge network. ``stdin`` is handed over as a file (the HTTP API can
only stream it over a hijacked connection), which needs ``sh`` in the image.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from taskyard.model.errors import InvalidInput, Unavailable
from taskyard.workspaces.egress import EgressProxy, proxy_service
from taskyard.workspaces.files import make_owned_dir, sandbox_ids
from taskyard.workspaces.netbridge import SANDBOX_RUN_DIR, Bridge, HostService
from taskyard.workspaces.sandbox import SandboxInfo, SandboxProcess, SandboxProvider, SandboxRequest

DEFAULT_SOCKET = Path("/var/run/docker.sock")
DEFAULT_IMAGE = "python:3.11-slim-bookworm"
API = "http://docker/v1.41"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class DockerProcess(SandboxProcess):
    """A running container: its demultiplexed output, exit code and removal.

    There is no local process, so the ``process`` attribute of
    :class:`SandboxProcess` is not set.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        container: str,
        cleanup: Callable[[], Awaitable[None]],
        memory_mb: int = 0,
    ) -> None:
        self.client = client
        self.container = container
        self.memory_mb = memory_mb
        self.limit_message = ""
        self.oom_killed = False
        """Whether the memory limit killed the container's process (known after wait)."""
        self._stdout = asyncio.StreamReader(limit=1 << 24)
        self._ended = asyncio.ensure_future(self._reap(cleanup))

    @property
    def stdout(self) -> asyncio.StreamReader:
        return self._stdout

    async def _pump(self) -> None:
        """Copy the log stream (8-byte frame header, then payload) to ``stdout``."""
        buffer = b""
        url = f"{API}/containers/{self.container}/logs"
        params = {"follow": "1", "stdout": "1", "stderr": "1"}
        try:
            async with self.client.stream("GET", url, params=params, timeout=None) as response:
                async for chunk in response.aiter_raw():
                    buffer += chunk
                    while len(buffer) >= 8:
                        size = int.from_bytes(buffer[4:8], "big")
                        if len(buffer) < 8 + size:
                            break
                        self._stdout.feed_data(buffer[8 : 8 + size])
                        buffer = buffer[8 + size :]
        except httpx.HTTPError:
            pass  # the exit code still comes from /wait
        finally:
            self._stdout.feed_eof()

    async def _reap(self, cleanup: Callable[[], Awaitable[None]]) -> int:
        url = f"{API}/containers/{self.container}"
        try:
            # The log stream ends when the container stops; waiting after it
            # keeps the calls in a fixed order.
            await self._pump()
            response = await self.client.post(f"{url}/wait", timeout=None)
            _check(response)
            code = int(response.json()["StatusCode"])
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                state = (await self.client.get(f"{url}/json")).json()["State"]
                self.oom_killed = bool(state["OOMKilled"])
                if self.oom_killed:
                    self.limit_message = f"killed: memory limit {self.memory_mb} MB reached"
            return code
        finally:
            with contextlib.suppress(httpx.HTTPError):
                await self.client.delete(url, params={"force": "1", "v": "1"})
            await self.client.aclose()
            await cleanup()

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)

    async def kill(self) -> None:
        """Kill the container (all its processes) and remove it."""
        if not self._ended.done():
            with contextlib.suppress(httpx.HTTPError):
                url = f"{API}/containers/{self.container}/kill"
                await self.client.post(url, params={"signal": "KILL"})
        await asyncio.shield(self._ended)


class DockerProvider(SandboxProvider):
    """Runs agents in containers of one image.

    Args:
        image: The image every container starts from; pulled when missing.
        socket_path: The engine's API socket.
        transport: An httpx transport to use instead of the socket (tests).
        python: The interpreter in the image that runs the network forwarder.
    """

    kind = "docker"
    info = SandboxInfo(
        isolates="a container of the template's image: files, network, processes, memory",
        image=True,
    )

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        *,
        socket_path: Path = DEFAULT_SOCKET,
        transport: httpx.AsyncBaseTransport | None = None,
        python: str = "python3",
    ) -> None:
        self.image = image
        self.socket_path = socket_path
        self.transport = transport
        self.python = python

    def check_available(self) -> None:
        if self.transport is None and not self.socket_path.exists():
            raise InvalidInput(
                f"Docker socket {self.socket_path} missing: install Docker (or Podman with "
                "its Docker-compatible socket), or choose another sandbox in the template."
            )

    async def spawn(
        self, request: SandboxRequest, services: Sequence[HostService] = (), *, image: str = ""
    ) -> DockerProcess:
        """Create and start a container for ``request``; see the module docstring.

        Args:
            request: What to run and how to confine it.
            services: Further host services to carry in, as for bubblewrap.
            image: An image overriding both the request's and the provider's.
        """
        self.check_available()
        runtime_dir = Path(tempfile.mkdtemp(prefix="taskyard-docker-"))
        transport = self.transport or httpx.AsyncHTTPTransport(uds=str(self.socket_path))
        client = httpx.AsyncClient(transport=transport, timeout=30)
        proxy: EgressProxy | None = None
        bridge: Bridge | None = None

        async def cleanup() -> None:
            if bridge is not None:
                await bridge.close()
            if proxy is not None:
                await proxy.close()
            shutil.rmtree(runtime_dir, ignore_errors=True)

        try:
            services = list(services)
            if request.network.policy == "allowlist":
                proxy = EgressProxy(
                    request.network.allow,
                    ports=request.network.ports,
                    socket_path=runtime_dir / "egress.sock",
                    reachable=request.reachable,
                )
                await proxy.start()
                services.append(proxy_service(runtime_dir / "egress.sock"))
            # Containers always have a network namespace of their own, so every
            # service goes through the forwarder, whatever the policy.
            bridge = Bridge(services, runtime_dir, python=self.python)
            await bridge.start()
            make_owned_dir(request.home)
            body = self.container_spec(request, bridge, runtime_dir)
            if image:
                body["Image"] = image
            name = f"taskyard-{request.task_key or 'sandbox'}-{uuid.uuid4().hex[:8]}".lower()
            container = await self._create(client, name, body)
            response = await client.post(f"{API}/containers/{container}/start")
            _check(response)
        except BaseException:
            await client.aclose()
            await cleanup()
            raise
        return DockerProcess(client, container, cleanup, request.limits.memory_mb)

    def container_spec(
        self, request: SandboxRequest, bridge: Bridge, runtime_dir: Path
    ) -> dict[str, Any]:
        """The body of ``POST /containers/create``."""
        binds = [f"{p}:{p}:rw" for p in (request.workdir, request.home)]
        binds += [f"{p}:{p}:ro" for p in request.readonly_paths]
        # git in the checkout reads its objects from the repository's mirror.
        if request.shared_objects is not None:
            binds.append(f"{request.shared_objects}:{request.shared_objects}:ro")
        binds += [f"{m.source}:{m.dest}:{'ro' if m.readonly else 'rw'}" for m in bridge.mounts()]
        command = bridge.command(request.argv)
        if request.stdin is not None:
            (runtime_dir / "stdin").write_text(request.stdin)
            binds.append(f"{runtime_dir / 'stdin'}:{SANDBOX_RUN_DIR / 'stdin'}:ro")
            command = ["sh", "-c", f'exec "$@" < {SANDBOX_RUN_DIR / "stdin"}', "sh", *command]
        tools = [p / "bin" if (p / "bin").is_dir() else p for p in request.readonly_paths]
        env = {
            "PATH": ":".join([*(str(p) for p in tools), BASE_PATH]),
            "HOME": str(request.home),
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            **request.env,
            **bridge.env(),
        }
        memory = request.limits.memory_mb << 20
        return {
            "Image": request.image or self.image,
            "Cmd": command,
            "Env": [f"{k}={v}" for k, v in env.items()],
            "WorkingDir": str(request.workdir),
            # The sandbox user, who owns the checkout and home (see files.hand_over).
            "User": "{}:{}".format(*(sandbox_ids() or (os.getuid(), os.getgid()))),
            "Labels": {"taskyard.task": request.task_key},
            "HostConfig": {
                "Binds": binds,
                "Memory": memory,
                "MemorySwap": memory,  # no swap beyond the limit
                "PidsLimit": request.limits.processes,
                "NetworkMode": "bridge" if request.network.policy == "full" else "none",
                "ReadonlyRootfs": True,
                "Tmpfs": {"/tmp": "rw,nosuid,nodev"},
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "Init": True,
            },
        }

    async def _create(self, client: httpx.AsyncClient, name: str, body: dict[str, Any]) -> str:
        url = f"{API}/containers/create"
        response = await client.post(url, params={"name": name}, json=body)
        if response.status_code == 404:  # the image is not there yet
            await self._pull(client, body["Image"])
            response = await client.post(url, params={"name": name}, json=body)
        _check(response)
        container: str = response.json()["Id"]
        return container

    async def _pull(self, client: httpx.AsyncClient, image: str) -> None:
        url = f"{API}/images/create"
        async with client.stream("POST", url, params={"fromImage": image}) as response:
            await response.aread()
        _check(response)
        # Failures of a pull arrive as a 200 with an error in the progress stream.
        for line in response.text.splitlines():
            if line.strip() and "error" in (progress := json.loads(line)):
                raise InvalidInput(f"Cannot pull image {image}: {progress['error']}")


def _check(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = response.json()["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    error = Unavailable if response.status_code >= 500 else InvalidInput
    raise error(f"Docker engine: {response.request.method} {response.request.url.path}: {message}")
