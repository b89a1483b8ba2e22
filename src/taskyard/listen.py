"""The listening sockets taskyard's HTTP servers (the API, each worker's gateway) serve on.

Each server binds its socket itself and hands it to uvicorn, so it listens (and
knows its port) before uvicorn starts. Such a socket must be made with protocol
``IPPROTO_TCP``, as asyncio's own ``create_server`` makes it: asyncio sets
``TCP_NODELAY`` only on accepted connections whose socket says it is TCP, and a
listener made with protocol 0 hands that 0 down to every connection it accepts.
Without ``TCP_NODELAY``, Nagle's algorithm holds back the body uvicorn writes
after a response's headers until the client acknowledges them, which a client
with delayed ACKs does some 40 ms later: every request after the first on a
kept-alive connection waited that long.
"""

from __future__ import annotations

import socket


def tcp_listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: a free port) and listening.

    Connections wait in its backlog until the server accepts them, instead of
    being refused while it starts.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
