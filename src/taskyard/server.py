"""The long-running processes behind ``taskyard serve`` and ``taskyard worker``."""

from __future__ import annotations

import asyncio
import socket
import sys

import click
import uvicorn

from taskyard.api.app import create_app
from taskyard.config import get_settings
from taskyard.listen import tcp_listener
from taskyard.runtime import Runtime


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
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        )
        _announce(url, runtime)
        await server.serve(sockets=[sock])


async def work() -> None:
    """Run a worker alone until stopped."""
    async with Runtime(get_settings(), worker=True, bootstrap=False) as runtime:
        click.echo(f"taskyard worker polling task queue '{runtime.settings.task_queue}'")
        sys.stdout.flush()
        await asyncio.Event().wait()
