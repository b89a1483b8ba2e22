"""Listening inside a bubblewrap sandbox's network namespace, from the host.

A sandbox with its own network reaches host services (the model gateway, the egress
proxy) at ``127.0.0.1:<port>`` inside it. Something must listen there before the
agent starts, or its first connection is refused. An unprivileged server starts a
forwarder in the sandbox for that (:mod:`.forwarder`), which costs an interpreter's
start (about 25 ms) before every agent. A server running as root does it from the
host instead, with no process in the sandbox:

1. bwrap starts with ``--info-fd`` (it writes the sandbox's pid once its namespaces
   exist) and ``--block-fd`` (it waits for a byte there, after bringing the sandbox's
   loopback up, before it runs the command);
2. a thread of the server enters the sandbox's network namespace (``setns``), binds
   the listeners, and ends (the namespace is the thread's alone, and the sockets stay
   in the namespace they were made in);
3. the server's event loop serves them (:meth:`.netbridge.Bridge.attach`), and the
   byte lets the agent start.

Entering another network namespace needs ``CAP_SYS_ADMIN`` over it, which only root
has here; the agent gains nothing from it: it meets listening sockets, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence

CLONE_NEWNET = 0x40000000
# The listeners are bound as the sandbox starts, possibly before bwrap gave its loopback
# its address: a free bind takes the address anyway, and connections arrive once it is up.
IP_FREEBIND = 15
BACKLOG = 128


class HeldStart:
    """The two pipes that let the server act between bwrap's setup and the agent's start."""

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}
        self._fds["info_r"], self._fds["info_w"] = os.pipe()
        self._fds["block_r"], self._fds["block_w"] = os.pipe()

    @property
    def args(self) -> list[str]:
        """bwrap's options for them."""
        return ["--info-fd", str(self._fds["info_w"]), "--block-fd", str(self._fds["block_r"])]

    @property
    def fds(self) -> tuple[int, int]:
        """What bwrap inherits (``pass_fds``)."""
        return self._fds["info_w"], self._fds["block_r"]

    def started(self) -> None:
        """bwrap has its ends now: the server's copies would keep its reads from ending."""
        self._close("info_w", "block_r")

    async def child_pid(self) -> int:
        """The sandbox's pid, as bwrap reports it once its namespaces exist."""
        report = await asyncio.to_thread(_read_all, self._fds["info_r"])
        self._close("info_r")
        try:
            return int(json.loads(report)["child-pid"])
        except (ValueError, KeyError, TypeError):
            # bwrap failed before its report (a bad mount, say): its output says why.
            raise OSError(f"bwrap did not report its sandbox: {report[:200]!r}") from None

    def release(self) -> None:
        """Let the sandbox run its command."""
        os.write(self._fds["block_w"], b"x")
        self._close("block_w")

    def _close(self, *names: str) -> None:
        for name in names:  # each once: a number closed twice may be someone else's by then
            if (fd := self._fds.pop(name, None)) is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def close(self) -> None:
        self._close(*list(self._fds))


@contextlib.contextmanager
def held_start() -> Iterator[HeldStart]:
    held = HeldStart()
    try:
        yield held
    finally:
        held.close()  # a sandbox never released ends: its block pipe closed unwritten


async def listen_in(pid: int, ports: Sequence[int]) -> list[socket.socket]:
    """Listening sockets on ``127.0.0.1:<port>`` in the network namespace of ``pid``.

    In a thread of its own, which ends with the work: a pooled thread left in the
    sandbox's namespace would open every later connection of the server there.
    """
    done: asyncio.Future[list[socket.socket]] = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()

    def bind() -> None:
        try:
            result: list[socket.socket] | BaseException = _bind_in(pid, ports)
        except BaseException as exc:
            result = exc
        loop.call_soon_threadsafe(_settle, done, result)

    threading.Thread(target=bind, name=f"listen-in-{pid}", daemon=True).start()
    return await done


def _bind_in(pid: int, ports: Sequence[int]) -> list[socket.socket]:
    namespace = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc().setns(namespace, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"cannot enter the sandbox's network: {os.strerror(errno)}")
    finally:
        os.close(namespace)
    made: list[socket.socket] = []
    try:
        for port in ports:
            # IPPROTO_TCP named, so asyncio sets TCP_NODELAY on the accepted connections.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            made.append(sock)
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


def _settle(
    done: asyncio.Future[list[socket.socket]], result: list[socket.socket] | BaseException
) -> None:
    if done.cancelled():  # the spawn was abandoned meanwhile: nobody will serve them
        for sock in result if isinstance(result, list) else []:
            sock.close()
    elif isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)
