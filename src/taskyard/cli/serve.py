"""``taskyard serve`` and ``taskyard worker``: the long-running processes.

The server's modules (settings, FastAPI, SQLAlchemy, Temporal) load only when one of
these commands runs, so every other command (a client of the API) starts quickly.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import click

from taskyard.model.errors import InvalidInput, TaskyardError


def _run(process: Coroutine[Any, Any, None]) -> None:
    """Run a server process: a refusal (a setting missing, say) is said, not a traceback."""
    import asyncio

    try:
        asyncio.run(process)
    except TaskyardError as exc:
        raise click.ClickException(exc.message) from exc


@click.command()
@click.option("--host", default=None, help="Address to listen on [TASKYARD_HOST].")
@click.option("--port", type=int, default=None, help="Port to listen on [TASKYARD_PORT].")
@click.option("--no-worker", is_flag=True, help="Do not run a worker in this process.")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the API, the dashboard, an embedded Temporal server and a worker."""
    from taskyard import logs
    from taskyard.config import get_settings
    from taskyard.model.redaction import mask_logs
    from taskyard.server import serve as run_server
    from taskyard.services.secrets import server_values

    settings = get_settings()
    logs.configure(settings.log_format)
    mask_logs(server_values(settings).values())
    port = settings.port if port is None else port
    _run(run_server(host or settings.host, port, not no_worker))


@click.command()
def worker() -> None:
    """Run a worker alone (scale out: many workers, one database, one Temporal cluster)."""
    from taskyard import logs
    from taskyard.config import get_settings
    from taskyard.model.redaction import mask_logs
    from taskyard.services.secrets import server_values

    logs.configure(get_settings().log_format)
    mask_logs(server_values(get_settings()).values())
    if not get_settings().temporal_address:
        raise click.ClickException(
            str(InvalidInput("A worker alone needs TASKYARD_TEMPORAL_ADDRESS (host:port)."))
        )
    from taskyard.server import work

    _run(work())
