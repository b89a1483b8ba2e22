"""The sandbox's end of the network bridge: listen, then become the agent.

Runs inside the sandbox as a script, before the agent (``python -I -S forwarder.py
--forward PORT=SOCKET ... -- ARGV``, see :meth:`.netbridge.Bridge.command`), so it
is on the way of every turn's start. It binds the listeners and execs the agent
with nothing but the interpreter's own modules loaded: importing asyncio first made
each sandbox start about 90 ms later. The forwarder that serves the listeners is
forked off and loads the relay (:mod:`.netbridge`, mounted beside this script) while
the agent starts; a connection the agent opens meanwhile waits in the backlog.

Standard library only, and as little of it as will do (``_socket``, not ``socket``).
"""

import os
import sys
from _socket import AF_INET, IPPROTO_TCP, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def _serve(listeners: list[tuple[int, str]], agent: int) -> None:
    # -I leaves the script's own directory off the path; the relay is mounted beside it.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import netbridge  # type: ignore[import-not-found]

    netbridge.serve_forever(listeners, agent)


def main(args: list[str]) -> None:
    """Listen on each ``--forward PORT=SOCKET``, then exec the agent.

    The listeners are bound before the agent starts, so its first connection
    cannot race the forwarder. The forwarder detaches (double fork) so the agent
    is exec'd in this process and its exit status is the sandbox's; the
    forwarder exits when the agent does (and, in a sandbox, dies with its pid
    namespace anyway).
    """
    listeners: list[tuple[int, str]] = []
    while args and args[0] == "--forward":
        port, _, path = args[1].partition("=")
        # IPPROTO_TCP, so asyncio sets TCP_NODELAY on the agent's connections (see
        # taskyard.listen, which this script cannot import): with Nagle, a response
        # relayed in two writes waited for the agent's delayed ACK, ~40 ms a request.
        sock = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(port)))
        sock.listen(128)
        listeners.append((sock.detach(), path))
        args = args[2:]
    if not args or args[0] != "--" or len(args) < 2:
        sys.exit("usage: forwarder.py [--forward PORT=SOCKET]... -- COMMAND [ARGS...]")
    argv = args[1:]
    # Opened before forking so it names this process for sure (it becomes the
    # agent by exec, which closes this copy: pidfds are close-on-exec).
    agent = os.pidfd_open(os.getpid())
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                _serve(listeners, agent)
        except BaseException:
            import traceback  # only now: not on the agent's way

            traceback.print_exc()
        finally:
            os._exit(0)
    os.wait()
    for fd, _ in listeners:
        os.close(fd)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"taskyard: cannot run {argv[0]}: {exc}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
