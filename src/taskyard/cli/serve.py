"""``taskyard serve`` and ``taskyard worker``: the long-running processes."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

import click
import uvicorn

from taskyard.api.app import create_app
from taskyard.config import get_settings
from taskyard.errors import InvalidInput
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


async def _serve(host: str, port: int, worker: bool) -> None:
    settings = get_settings()
    if not worker:
        settings = settings.model_copy(update={"run_worker": False})
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen before announcing the URL: connections wait in the backlog until
    # uvicorn accepts them, instead of being refused.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    if not settings.public_url:
        settings = settings.model_copy(update={"public_url": url})
    async with Runtime(settings) as runtime:
        app = create_app(settings, engine=runtime.engine, runtime=False)
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        )
        _announce(url, runtime)
        await server.serve(sockets=[sock])


@click.command()
@click.option("--host", default=None, help="Address to listen on [TASKYARD_HOST].")
@click.option("--port", type=int, default=None, help="Port to listen on [TASKYARD_PORT].")
@click.option("--no-worker", is_flag=True, help="Do not run a worker in this process.")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the API, the dashboard, an embedded Temporal server and a worker."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    asyncio.run(
        _serve(host or settings.host, settings.port if port is None else port, not no_worker)
    )


async def _work() -> None:
    async with Runtime(get_settings(), worker=True, bootstrap=False) as runtime:
        click.echo(f"taskyard worker polling task queue '{runtime.settings.task_queue}'")
        sys.stdout.flush()
        assert runtime.worker is not None
        await asyncio.Event().wait()


@click.command()
def worker() -> None:
    """Run a worker alone (scale out: many workers, one database, one Temporal cluster)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not get_settings().temporal_address:
        raise click.ClickException(
            str(InvalidInput("A worker alone needs TASKYARD_TEMPORAL_ADDRESS (host:port)."))
        )
    asyncio.run(_work())
