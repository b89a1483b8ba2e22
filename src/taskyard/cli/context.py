"""What every client command shares: global options, reaching the API, exit codes.

``--url``, ``--token``, ``-o/--output`` and ``-q/--quiet`` are accepted anywhere on the
line (``taskyard --url U tasks list``, ``taskyard tasks list --token T -o json``), as
``gh`` takes its flags: :func:`add_global_options` gives every command its own copy, and
each copy records its value on the root context, so the one nearest the end wins.

The server and token come from, in order: the options, ``TASKYARD_URL`` /
``TASKYARD_TOKEN``, the file ``taskyard login`` writes, and ``http://127.0.0.1:8420``.

The seam for tests is click's context object (``CliRunner().invoke(cli, args, obj=...)``):
a :class:`~taskyard.sdk.Client` given there is used as it is (and left open); a callable
is used instead of :class:`~taskyard.sdk.Client` to make one, as ``factory(url, token)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from taskyard.cli import config
from taskyard.sdk import Client, TaskyardAPIError, TaskyardError

ClientFactory = Callable[[str | None, str | None], Client]
F = TypeVar("F", bound=Callable[..., Any])

#: Exit statuses, documented in docs/cli.md: scripts can tell these apart.
EXIT_ERROR, EXIT_USAGE, EXIT_FAILED, EXIT_CANCELLED, EXIT_TIMEOUT = 1, 2, 3, 4, 5
STATUS_EXITS = {"failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}


class Exit(click.ClickException):
    """``Error: <message>`` on stderr, with an exit status of its own."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click reads it per instance


@dataclass
class Globals:
    url: str | None = None
    token: str | None = None
    fmt: str = "table"
    quiet: bool = False
    client: Client | None = None


def globals_of(ctx: click.Context | None = None) -> Globals:
    root = (ctx or click.get_current_context()).find_root()
    found: Globals = root.meta.setdefault("taskyard.globals", Globals())
    return found


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            setattr(globals_of(ctx), name, value)

    return callback


def global_options() -> list[click.Parameter]:
    """A fresh copy of the options every client command takes."""
    return [
        click.Option(
            ["--url"],
            metavar="URL",
            expose_value=False,
            callback=_store("url"),
            help="Server URL [TASKYARD_URL; `taskyard login`; http://127.0.0.1:8420].",
        ),
        click.Option(
            ["--token"],
            metavar="TOKEN",
            expose_value=False,
            callback=_store("token"),
            help="API token [TASKYARD_TOKEN; `taskyard login`].",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Choice(["table", "json"]),
            expose_value=False,
            callback=_store("fmt"),
            help="table for people (default), or json: the objects as the API sends them.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_store("quiet"),
            help="Print only keys (names, ids), one a line; no hints.",
        ),
    ]


def add_global_options(command: click.Command, skip: frozenset[str] = frozenset()) -> None:
    """Give ``command`` and everything under it the global options (except ``skip``)."""
    names = {name for p in command.params for name in getattr(p, "opts", ())}
    command.params += [p for p in global_options() if not names & set(p.opts)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if name not in skip:
                add_global_options(sub)


def server(ctx: click.Context | None = None) -> tuple[str | None, str | None]:
    """The URL and token to use: options, then the environment, then the login file."""
    found = globals_of(ctx)
    saved = config.load() if not (found.url and found.token) else {}
    url = found.url or os.environ.get("TASKYARD_URL") or saved.get("url")
    token = found.token or os.environ.get("TASKYARD_TOKEN") or saved.get("token")
    return url, token


def client(ctx: click.Context | None = None) -> Client:
    """The command's client, made on first use and closed with the root context."""
    ctx = ctx or click.get_current_context()
    found = globals_of(ctx)
    if found.client is None:
        root = ctx.find_root()
        if isinstance(root.obj, Client):
            found.client = root.obj
        else:
            factory: ClientFactory = root.obj if callable(root.obj) else Client
            found.client = factory(*server(ctx))
            root.call_on_close(found.client.close)
    return found.client


def pass_client(f: F) -> F:
    """Call the command with the client as its first argument."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(client(), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def describe(exc: TaskyardError) -> str:
    """The message a person reads for ``exc``, with a hint where the fix is local."""
    if isinstance(exc, TaskyardAPIError) and exc.status == 401:
        return f"{exc.message} (Run `taskyard login`, set TASKYARD_TOKEN or pass --token.)"
    return exc.message


class RootGroup(click.Group):
    """The ``taskyard`` group: turns library errors into one line and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TaskyardError as exc:
            raise Exit(describe(exc)) from exc
        except TimeoutError as exc:
            raise Exit(str(exc) or "Timed out.", EXIT_TIMEOUT) from exc


def finish(task: Mapping[str, Any], wanted: tuple[str, ...] = ("completed",)) -> None:
    """Exit unless the task reached a wanted status: 3 failed, 4 cancelled, 1 otherwise."""
    if task["status"] not in wanted:
        message = f": {task['status_message']}" if task["status_message"] else ""
        code = STATUS_EXITS.get(task["status"], EXIT_ERROR)
        raise Exit(f"{task['key']} is {task['status']}{message}", code)
