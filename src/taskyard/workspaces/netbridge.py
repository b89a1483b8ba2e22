"""Carry host services into a sandbox over Unix sockets.

A sandbox with its own network namespace cannot reach the host's loopback, so
each host service it needs (the egress proxy; later the model-API proxy and the
MCP endpoint) is exposed as a Unix socket, bind-mounted into the sandbox, and a
tiny forwarder started inside the sandbox before the agent listens on
``127.0.0.1:<port>`` there and relays each connection to its socket::

    agent ──tcp──▶ forwarder (in sandbox) ──unix──▶ [relay on host ──tcp──▶] service

The host side is :class:`Bridge`: given :class:`HostService` entries (a loopback
TCP address or a Unix socket each), it starts the host relays that TCP services
need and returns the mounts, environment and command prefix for the sandbox.
When the sandbox shares the host network (policy ``full``) nothing is forwarded
inside; Unix-socket services get a host loopback port instead.

Inside the sandbox, :mod:`.forwarder` runs as a script before the agent (``python -I
-S forwarder.py --forward PORT=SOCKET ... -- ARGV``) and, once the agent runs, this
module's :func:`serve_forever` relays; so it imports the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_RUN_DIR = Path("/run/taskyard")
"""Where sockets and the forwarder script appear inside the sandbox (a tmpfs)."""

_CHUNK = 1 << 16
SCRIPTS = ("forwarder.py", "netbridge.py")
"""What runs inside the sandbox: the forwarder's start, then its relay (this module)."""

_Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        # One side vanished: closing both (in relay) is all there is to do.
        pass


async def relay(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    *,
    stop_when_b_ends: bool = False,
) -> None:
    """Copy bytes both ways until both sides are done, then close both.

    Ends of stream are passed on as half-closes, so protocols that send a
    request and then shut down their write side keep working. With
    ``stop_when_b_ends`` the relay finishes as soon as ``b`` stops sending (for
    a forwarded ``Connection: close`` HTTP exchange, where the client may linger).
    """
    a_to_b = asyncio.ensure_future(_copy(a[0], b[1]))
    b_to_a = asyncio.ensure_future(_copy(b[0], a[1]))
    try:
        if stop_when_b_ends:
            await b_to_a
        else:
            await asyncio.gather(a_to_b, b_to_a)
    finally:
        for task in (a_to_b, b_to_a):
            task.cancel()
        for writer in (a[1], b[1]):
            writer.close()
        for writer in (a[1], b[1]):
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass(frozen=True)
class HostService:
    """A host service the sandbox reaches at ``http://127.0.0.1:<port>``.

    Attributes:
        name: Short name (``[a-z0-9-]``); names the socket inside the sandbox.
        target: ``"127.0.0.1:8080"`` (loopback TCP) or the Path of a Unix socket.
        port: The port the service appears on inside the sandbox.
        env: Variables to set in the sandbox; ``{url}`` and ``{port}`` in values are
            replaced by the URL and port the sandbox reaches the service at.
    """

    name: str
    target: str | Path
    port: int
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mount:
    """A host path to mount into the sandbox at ``dest``."""

    source: Path
    dest: Path
    readonly: bool = True


class Bridge:
    """The host side of the bridge for one sandbox. Start it, use it, close it.

    Args:
        services: What the sandbox should reach.
        runtime_dir: A private host directory (mode 0700) for relay sockets.
        shared_network: The sandbox shares the host network namespace, so it
            reaches TCP services directly and no forwarder runs inside.
        python: Interpreter that runs the forwarder inside the sandbox.
        from_host: The host listens inside the sandbox's network itself, once it is
            made (:meth:`attach`, see :mod:`.bwrap_netns`): no forwarder runs inside.
    """

    def __init__(
        self,
        services: Sequence[HostService],
        runtime_dir: Path,
        *,
        shared_network: bool = False,
        python: str = sys.executable,
        from_host: bool = False,
    ) -> None:
        self.services = list(services)
        self.runtime_dir = runtime_dir
        self.shared_network = shared_network
        self.python = python
        self.from_host = from_host and not shared_network
        self._servers: list[asyncio.AbstractServer] = []
        # Connections in flight, held here: asyncio keeps only weak references to a
        # server's handler tasks, and one whose socket the sandbox's death closed could
        # be collected while pending. close() ends them.
        self._relays: set[asyncio.Task[None]] = set()
        self._sockets: dict[str, Path] = {}  # service name -> host unix socket
        self._urls: dict[str, str] = {}  # service name -> URL inside the sandbox

    async def start(self) -> None:
        """Start the host relays that the services and the network need.

        TCP services of a sandbox with its own network get a Unix socket in
        ``runtime_dir``; Unix-socket services of one that shares the host's
        network get a loopback port.
        """
        for service in self.services:
            if self.from_host:  # served once the sandbox exists (attach)
                self._urls[service.name] = f"http://127.0.0.1:{service.port}"
            elif isinstance(service.target, Path):
                if self.shared_network:
                    server = await asyncio.start_server(
                        _connector(service.target, self._relays), "127.0.0.1", 0
                    )
                    self._servers.append(server)
                    port = server.sockets[0].getsockname()[1]
                    self._urls[service.name] = f"http://127.0.0.1:{port}"
                else:
                    self._sockets[service.name] = service.target
                    self._urls[service.name] = f"http://127.0.0.1:{service.port}"
            elif self.shared_network:
                self._urls[service.name] = f"http://{service.target}"
            else:
                path = self.runtime_dir / f"{service.name}.sock"
                server = await asyncio.start_unix_server(
                    _connector(service.target, self._relays), path
                )
                # Reached from inside by the sandbox's unprivileged user; on the
                # host, the private runtime directory keeps everyone else out.
                os.chmod(path, 0o666)
                self._servers.append(server)
                self._sockets[service.name] = path
                self._urls[service.name] = f"http://127.0.0.1:{service.port}"

    @property
    def attaches(self) -> bool:
        """Whether the sandbox's services wait for :meth:`attach` before it may start."""
        return self.from_host and bool(self.services)

    async def attach(self, pid: int) -> None:
        """Serve each service on its port inside the network namespace of ``pid``."""
        # Here, not at the top: this module also runs inside sandboxes, standard library only.
        from taskyard.workspaces.bwrap_netns import listen_in

        sockets = await listen_in(pid, [service.port for service in self.services])
        for service, sock in zip(self.services, sockets, strict=True):
            server = await asyncio.start_server(_connector(service.target, self._relays), sock=sock)
            self._servers.append(server)

    def mounts(self) -> list[Mount]:
        """Sockets (and the forwarder script) to mount under :data:`SANDBOX_RUN_DIR`."""
        if not self._sockets:
            return []
        here = Path(__file__).resolve().parent
        mounts = [Mount(here / name, SANDBOX_RUN_DIR / name) for name in SCRIPTS]
        for name, path in self._sockets.items():
            mounts.append(Mount(path, SANDBOX_RUN_DIR / f"{name}.sock", readonly=False))
        return mounts

    def bwrap_args(self) -> list[str]:
        """bubblewrap arguments for :meth:`mounts` (``SANDBOX_RUN_DIR`` must be a tmpfs)."""
        args: list[str] = []
        for mount in self.mounts():
            option = "--ro-bind" if mount.readonly else "--bind"
            args += [option, str(mount.source), str(mount.dest)]
        return args

    def env(self) -> dict[str, str]:
        """Environment variables of all services, with ``{url}``/``{port}`` filled in."""
        env: dict[str, str] = {}
        for service in self.services:
            url = self._urls[service.name]
            port = url.rsplit(":", 1)[1]
            for key, value in service.env.items():
                env[key] = value.replace("{url}", url).replace("{port}", port)
        return env

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed with the forwarder, if anything is forwarded inside."""
        if not self._sockets:
            return list(argv)
        # -S: no site-packages to scan; the forwarder needs the standard library only.
        prefix = [self.python, "-I", "-S", str(SANDBOX_RUN_DIR / "forwarder.py")]
        for service in self.services:
            if service.name in self._sockets:
                prefix += ["--forward", f"{service.port}={SANDBOX_RUN_DIR / service.name}.sock"]
        return [*prefix, "--", *argv]

    async def close(self) -> None:
        """Stop the host relays (connections in flight are dropped)."""
        for server in self._servers:
            server.close()
        relays = list(self._relays)
        for relay_task in relays:
            relay_task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()


def _connector(target: str | Path, relays: set[asyncio.Task[None]] | None = None) -> _Handler:
    """A connection handler that relays to ``target``, its task held in ``relays``.

    Cancellation (a loop shutting down, the bridge closing) ends the relay quietly:
    asyncio in Python 3.11 logs a spurious error for connection handlers that end
    cancelled.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if relays is not None and task is not None:
            relays.add(task)
            task.add_done_callback(relays.discard)
        try:
            if isinstance(target, Path):
                upstream = await asyncio.open_unix_connection(target)
            else:
                host, _, port = target.rpartition(":")
                upstream = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError as exc:
            print(f"taskyard bridge: cannot reach {target}: {exc}", file=sys.stderr)
            writer.close()
            return
        except asyncio.CancelledError:  # the bridge closed while this one connected
            writer.close()  # else its transport is left to the garbage collector, open
            return
        with contextlib.suppress(asyncio.CancelledError):
            await relay((reader, writer), upstream)

    return handle


def serve_forever(listeners: list[tuple[int, str]], agent: int) -> None:
    """Inside the sandbox: relay each listener (a bound, listening socket's fd) to its
    Unix socket until the agent (a pidfd) exits. Started by :mod:`.forwarder`."""

    async def main() -> None:
        for fd, path in listeners:
            sock = socket.socket(fileno=fd)
            await asyncio.start_server(_connector(Path(path)), sock=sock)
        ended = asyncio.Event()
        # A pidfd turns readable when the agent exits; no forwarder outlives it.
        asyncio.get_running_loop().add_reader(agent, ended.set)
        await ended.wait()
        os._exit(0)  # nothing to flush, and no noise from tearing down connections

    asyncio.run(main())
