"""A real HTTP receiver of outgoing webhooks on a loopback port, answering as scripted."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = -1  # a scripted answer: never answer (until the receiver closes)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next scripted status (then ``then``); keeps them."""

    url: str
    script: list[int]
    then: int = 200
    received: list[Received] = field(default_factory=list)
    answered: list[Received] = field(default_factory=list)  # those answered 2xx
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    held: set[socket.socket] = field(default_factory=set)  # requests held unanswered
    most_hanging: int = 0  # the most ever held at once whose senders still waited

    def answer(self, got: Received) -> int:
        with self.lock:
            self.received.append(got)
            status = self.script.pop(0) if self.script else self.then
            if 200 <= status < 300:
                self.answered.append(got)
        return status

    def hang(self, connection: socket.socket) -> None:
        """Hold a request unanswered until the receiver closes or the sender gives up."""
        with self.lock:
            # A sender that gave up is seen now, not at its own request's next look (up
            # to 0.05 s later): its sender's next request may come first.
            self.held = {held for held in self.held if not _hung_up(held)}
            self.held.add(connection)
            self.most_hanging = max(self.most_hanging, len(self.held))
        try:
            while not self.closing.wait(0.05) and not _hung_up(connection):
                pass
        finally:
            with self.lock:
                self.held.discard(connection)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """The 2xx-answered requests once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.answered) >= count:
                    return list(self.answered)
            assert time.monotonic() < deadline, f"{len(self.answered)} of {count} received"
            time.sleep(0.02)

    async def holding(self, count: int, timeout: float = 30) -> None:
        """Until ``count`` requests have been held at once (see :meth:`arrived`)."""
        deadline = time.monotonic() + timeout
        while self.most_hanging < count:
            assert time.monotonic() < deadline, f"{self.most_hanging} of {count} held at once"
            await asyncio.sleep(0.02)

    async def arrived(self, count: int, timeout: float = 30) -> None:
        """``wait_for`` on an event loop, needing none of its worker threads: the loop under
        test uses them, and a wait queued behind its work would fail late, not say why."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                done, seen = len(self.answered), len(self.received)
            if done >= count:
                return
            assert time.monotonic() < deadline, f"{done} of {count} answered ({seen} received)"
            await asyncio.sleep(0.02)


def _hung_up(connection: socket.socket) -> bool:
    # A peek that does not wait, not select(): a test process may hold over 1,024 files.
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # nothing to read: the sender still waits
    except OSError:
        return True  # reset


@contextmanager
def receiver(*script: int, then: int = 200) -> Iterator[Receiver]:
    state = Receiver("", list(script), then)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.answer(Received({k.lower(): v for k, v in self.headers.items()}, body))
            if status == HANG:
                state.hang(self.connection)
                return
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.closing.set()
        server.shutdown()
        server.server_close()
