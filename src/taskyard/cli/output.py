"""Printing for people and for scripts: tables, records, events, colour.

What is printed follows the global options (see :mod:`taskyard.cli.context`): a table
or record for people; with ``-o json`` the objects as the API sends them (a listing is
a JSON array, events are JSON lines); with ``-q`` only each object's key. Colour is used
only when stdout is a terminal and ``NO_COLOR`` is unset.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from taskyard.cli.context import globals_of

#: A table column: its header and the key (or a function) that gives a row's cell.
Column = tuple[str, str | Callable[[Mapping[str, Any]], object]]
MAX_CELL = 60
STATUS_COLOURS = {
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "waiting": "yellow",
    "working": "cyan",
    "provisioning": "cyan",
}


def colour_on(stream: Any = None) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, colour: str | None, *, bold: bool = False, err: bool = False) -> str:
    if colour is None or not colour_on(sys.stderr if err else None):
        return text
    return click.style(text, fg=colour, bold=bold)


def status_colour(text: str) -> str | None:
    return STATUS_COLOURS.get(text.split(" ", 1)[0])


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
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for line in cells:
        padded = [
            paint(c.ljust(w), status_colour(c) if h == "STATUS" else None)
            for h, c, w in zip(headers, line, widths, strict=True)
        ]
        click.echo("  ".join(padded).rstrip())


def record(row: Mapping[str, Any], fields: Sequence[Column]) -> None:
    """Print one object as ``name: value`` lines."""
    # Table headers are upper case; as labels they read better capitalized.
    labels = [name.capitalize() if name.isupper() else name for name, _ in fields]
    width = max(map(len, labels)) + 1
    for label, (_, src) in zip(labels, fields, strict=True):
        value = _get(row, src)
        colour = status_colour(value) if label == "Status" else None
        click.echo(f"{label + ':':<{width}} {paint(value, colour)}")


def identity(row: Mapping[str, Any], columns: Sequence[Column], key: str | None) -> str:
    """What ``-q`` prints of a row: ``key``, or the first column."""
    return _get(row, key or columns[0][1])


def emit(
    data: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    columns: Sequence[Column],
    empty: str = "Nothing to show.",
    *,
    key: str | None = None,
) -> None:
    """Print a listing (as a table) or one object (as a record), as JSON, or keys only."""
    found = globals_of()
    if found.fmt == "json":
        emit_json(data)
    elif found.quiet:
        for row in [data] if isinstance(data, Mapping) else data:
            click.echo(identity(row, columns, key))
    elif isinstance(data, Mapping):
        record(data, columns)
    else:
        table(data, columns, empty)


def done(result: Mapping[str, Any] | None, message: str, key: str = "key") -> None:
    """What an action prints: its message, or with -o json the object, with -q its key."""
    found = globals_of()
    if found.fmt == "json":
        emit_json(result if result is not None else {})
    elif found.quiet:
        if result is not None:
            click.echo(cell(result.get(key)))
    else:
        click.echo(message)


def hint(message: str) -> None:
    """A line for people on stderr (what to run next); -q and -o json keep quiet."""
    found = globals_of()
    if not found.quiet and found.fmt != "json":
        click.echo(paint(message, "yellow", err=True), err=True)


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


def status_line(status: str, message: str, form: str = "{}: {}") -> str:
    """A status and its message, once: ``queued: 2 ahead of you`` names its status itself."""
    if not message or message.startswith(f"{status}:"):
        return message or status
    return form.format(status, message)


def event_summary(event: Mapping[str, Any]) -> str:
    """What a task event says, in one line (agent text keeps its own line breaks)."""
    kind, data = event.get("kind", ""), event.get("data") or {}
    if kind == "status":
        return status_line(str(data.get("status", "")), str(data.get("message", "")))
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
    if kind == "intake":  # the same error or ticket again, while this task is open
        return f"again from {data.get('source', '')} ({data.get('count', '')} in all)"
    return _clip(cell(data), 300)


def emit_event(event: Mapping[str, Any]) -> None:
    """Print one event: a JSON line, its id (-q), or ``time  kind  summary`` for people."""
    found = globals_of()
    if found.fmt == "json":
        click.echo(json.dumps(event, ensure_ascii=False, default=str))
        return
    if found.quiet:
        click.echo(str(event.get("id", "")))
        return
    kind = str(event.get("kind", ""))
    head = f"{when(event.get('created_at'))[11:]}  {kind:<15} "
    lines = event_summary(event).splitlines() or [""]
    colour = status_colour(lines[0]) if kind == "status" else None
    click.echo(paint(head, "bright_black") + paint(lines[0], colour))
    for line in lines[1:]:
        click.echo(" " * len(head) + line)


def emit_log(event: Mapping[str, Any]) -> None:
    """Print what the agent said or printed, as it said it (``tasks logs``)."""
    if globals_of().fmt == "json":
        click.echo(json.dumps(event, ensure_ascii=False, default=str))
    else:
        click.echo(event_summary(event))
