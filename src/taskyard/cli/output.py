"""Shared plumbing of the client commands: reaching the API, reporting errors, printing.

Every client group (``taskyard tasks``, ``taskyard workflows``, ...) is a
:class:`ClientGroup`: it takes ``--url``/``--token`` (``TASKYARD_URL``/``TASKYARD_TOKEN``),
puts an SDK :class:`~taskyard.sdk.Client` on the context for its commands, and turns
any :class:`~taskyard.errors.TaskyardError` into ``Error: <message>`` on stderr, exit 1.

The seam for tests is click's context object (``CliRunner().invoke(cli, args, obj=...)``):
a :class:`~taskyard.sdk.Client` given there is used as it is (and left open); a callable
is used instead of :class:`~taskyard.sdk.Client` to make one, as ``factory(url, token)``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from taskyard.errors import TaskyardError
from taskyard.sdk import Client, TaskyardAPIError

ClientFactory = Callable[[str | None, str | None], Client]
#: A table column: its header and the key (or a function) that gives a row's cell.
Column = tuple[str, str | Callable[[Mapping[str, Any]], object]]
MAX_CELL = 60


class ClientGroup(click.Group):
    """A group of commands that talk to the API (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [
            click.Option(
                ["--url"],
                envvar="TASKYARD_URL",
                metavar="URL",
                help="Server URL [TASKYARD_URL; default http://127.0.0.1:8420].",
            ),
            click.Option(
                ["--token"],
                envvar="TASKYARD_TOKEN",
                metavar="TOKEN",
                help="API token [TASKYARD_TOKEN].",
            ),
        ]

    def invoke(self, ctx: click.Context) -> Any:
        url, token = ctx.params.pop("url", None), ctx.params.pop("token", None)
        if not isinstance(ctx.obj, Client):
            factory: ClientFactory = ctx.obj if callable(ctx.obj) else Client
            ctx.obj = factory(url, token)
            ctx.call_on_close(ctx.obj.close)
        try:
            return super().invoke(ctx)
        except TaskyardError as exc:
            raise click.ClickException(describe(exc)) from exc
        except TimeoutError as exc:
            raise click.ClickException(str(exc) or "Timed out.") from exc


def describe(exc: TaskyardError) -> str:
    """The message a person reads for ``exc``, with a hint where the fix is local."""
    if isinstance(exc, TaskyardAPIError) and exc.status == 401:
        return f"{exc.message} (Set TASKYARD_TOKEN or pass --token.)"
    return exc.message


pass_client = click.make_pass_decorator(Client)

output_option = click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Print a table, or the API's JSON.",
)


def read_text(value: str) -> str:
    """A command's text argument; ``-`` means "read it from stdin"."""
    if value == "-":
        return sys.stdin.read().rstrip("\n")
    return value


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def cell(value: object) -> str:
    """One value as a person reads it in a table."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def when(value: object) -> str:
    """An ISO timestamp, shortened to the second: ``2025-01-02 03:04:05``."""
    return str(value)[:19].replace("T", " ") if value else "-"


def _get(row: Mapping[str, Any], source: str | Callable[[Mapping[str, Any]], object]) -> str:
    return cell(source(row) if callable(source) else row.get(source))


def _clip(text: str, width: int = MAX_CELL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], empty: str) -> None:
    """Print ``rows`` as aligned columns; ``empty`` goes to stderr when there are none."""
    if not rows:
        click.echo(empty, err=True)
        return
    cells = [[_clip(_get(row, src)) for _, src in columns] for row in rows]
    headers = [header for header, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for line in [headers, *cells]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def record(row: Mapping[str, Any], fields: Sequence[Column]) -> None:
    """Print one object as ``name: value`` lines."""
    # Table headers are upper case; as labels they read better capitalized.
    labels = [name.capitalize() if name.isupper() else name for name, _ in fields]
    width = max(map(len, labels)) + 1
    for label, (_, src) in zip(labels, fields, strict=True):
        click.echo(f"{label + ':':<{width}} {_get(row, src)}")


def emit(
    data: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    fmt: str,
    columns: Sequence[Column],
    empty: str = "Nothing to show.",
) -> None:
    """Print a listing (as a table) or one object (as a record), or either as JSON."""
    if fmt == "json":
        emit_json(data)
    elif isinstance(data, Mapping):
        record(data, columns)
    else:
        table(data, columns, empty)


def _agent_summary(data: Mapping[str, Any]) -> str:
    kind = data.get("type", "")
    if kind == "text":
        return str(data.get("text", ""))
    if kind == "tool_call":
        return f"tool {data.get('name', '')} {_clip(cell(data.get('input')), 200)}"
    if kind == "tool_result":
        return f"result {_clip(str(data.get('output', '')), 200)}"
    if kind == "command":
        code = data.get("exit_code")
        return f"$ {data.get('command', '')}" + (f"  (exit {code})" if code is not None else "")
    if kind == "file_edit":
        return f"{data.get('action', 'edit')} {data.get('path', '')}"
    if kind == "state":
        return f"state {data.get('state', '')}: {data.get('message', '')}".rstrip(": ")
    if kind == "error":
        return f"error: {data.get('message', '')}"
    rest = {k: v for k, v in data.items() if k != "type"}
    return f"{kind} {_clip(cell(rest), 200)}"


def event_summary(event: Mapping[str, Any]) -> str:
    """What a task event says, in one line (agent text keeps its own line breaks)."""
    kind, data = event.get("kind", ""), event.get("data") or {}
    if kind == "status":
        message = data.get("message", "")
        return f"{data.get('status', '')}" + (f": {message}" if message else "")
    if kind == "stage":
        return f"stage {data.get('stage', '')}"
    if kind == "output":
        return str(data.get("line", ""))
    if kind == "agent":
        return _agent_summary(data)
    if kind == "message":
        return f"{data.get('by', '')}: {data.get('text', '')}"
    if kind == "approval":
        comment = data.get("comment", "")
        return f"{data.get('by', '')} approved {data.get('stage', '')}" + (
            f": {comment}" if comment else ""
        )
    if kind == "request_changes":
        to = data.get("to") or data.get("stage", "")
        return f"{data.get('by', '')} requested changes (to {to}): {data.get('text', '')}"
    if kind == "delivery" and data.get("url"):
        return f"pull request {data['url']} ({data.get('branch', '')})"
    if kind == "created":
        return f"created by {data.get('by', '')} ({data.get('origin', '')})"
    return _clip(cell(data), 300)


def emit_event(event: Mapping[str, Any], fmt: str) -> None:
    """Print one event: a JSON line, or ``time  kind  summary`` for people."""
    if fmt == "json":
        click.echo(json.dumps(event, ensure_ascii=False, default=str))
        return
    head = f"{when(event.get('created_at'))[11:]}  {event.get('kind', ''):<15} "
    lines = event_summary(event).splitlines() or [""]
    click.echo(head + lines[0])
    for line in lines[1:]:
        click.echo(" " * len(head) + line)
