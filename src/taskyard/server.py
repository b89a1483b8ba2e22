"""The long-running processes behind ``taskyard serve`` and ``taskyard worker``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable, Iterator

import click
import uvicorn

from taskyard.api.app import create_app
from taskyard.config import get_settings
from taskyard.listen import tcp_listener
from taskyard.runtime import Runtime


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: it re-raises SIGTERM once it has stopped
    serving, which would kill the process before the runtime's worker drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _on_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM or SIGINT, so that ``async with Runtime`` exits in order:
    the worker takes no new turns, lets running ones finish for
    ``TASKYARD_WORKER_SHUTDOWN_SECONDS``, then cancels (and so hands back) the rest."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


def _announce(url: str, runtime: Runtime) -> None:
    click.echo(f"taskyard is running at {url}")
    if runtime.bootstrap.created:
        if get_settings().admin_token:
            click.echo("First admin token: the value of TASKYARD_ADMIN_TOKEN")
        else:
            click.echo(f"First admin token: {runtime.bootstrap.admin_token}")
            click.echo("Keep it: it is shown only once (export TASKYARD_TOKEN=<token>).")
    sys.stdout.flush()


def _public_url(host: str, port: int) -> str:
    """Where links point by default: a wildcard address is no place a browser can go."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(host: str, port: int, worker: bool) -> None:
    """Serve the API on ``host:port`` with the runtime (Temporal, a worker unless told not)."""
    settings = get_settings()
    if not worker:
        settings = settings.model_copy(update={"run_worker": False})
    # Listening before the URL is announced: early connections wait in the backlog.
    sock = tcp_listener(host, port)
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    if not settings.public_url:
        settings = settings.model_copy(update={"public_url": _public_url(host, bound)})
    async with Runtime(settings) as runtime:
        app = create_app(settings, engine=runtime.engine)
        # log_config=None: uvicorn's lines go through this process's handler, in its
        # format (JSON too) and with its secrets masked.
        server = _Server(
            uvicorn.Config(
                app, log_level="warning", access_log=False, lifespan="on", log_config=None
            )
        )
        _on_stop_signals(lambda: setattr(server, "should_exit", True))
        _announce(url, runtime)
        await server.serve(sockets=[sock])


async def work() -> None:
    """Run a worker alone until stopped."""
    async with Runtime(get_settings(), worker=True, bootstrap=False) as runtime:
        stopping = asyncio.Event()
        _on_stop_signals(stopping.set)
        queues = " and ".join(f"'{w.task_queue}'" for w in runtime.workers)
        click.echo(f"taskyard worker polling task queues {queues}")
        sys.stdout.flush()
        await stopping.wait()
