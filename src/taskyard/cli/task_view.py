"""How a task looks on the command line: its columns and fields, links, watching."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import click

from taskyard.cli.context import globals_of
from taskyard.cli.output import Column, emit, record, status_line, when
from taskyard.sdk import Client, Event, Task

TASK_COLUMNS: list[Column] = [
    ("KEY", "key"),
    ("STATUS", "status"),
    ("STAGE", "stage"),
    ("TITLE", "title"),
    ("REPOSITORY", "repository"),
    ("CREATED", lambda t: when(t["created_at"])),
]
TASK_FIELDS: list[Column] = [
    ("Key", "key"),
    ("Title", "title"),
    ("Status", lambda t: status_line(t["status"], t["status_message"], "{} ({})")),
    ("Stage", "stage"),
    ("Agent", lambda t: t["agent"] + (f" ({t['agent_state']})" if t["agent_state"] else "")),
    ("Workflow", "workflow"),
    ("Team", "team"),
    ("Repository", "repository"),
    ("Branch", "branch"),
    ("Template", "template"),
    ("Creator", "creator"),
    ("Reviewers", lambda t: ", ".join(t.get("reviewers") or [])),
    ("Origin", "origin"),
    ("Thread", "thread"),
    ("Created", lambda t: when(t["created_at"])),
    ("Ended", lambda t: when(t["ended_at"])),
    ("Usage", lambda t: f"{t['input_tokens']} in, {t['output_tokens']} out, ${t['cost_usd']:.4f}"),
    ("Pull requests", lambda t: [pull_line(p) for p in t.get("pull_requests") or []]),
]
PULL_COLUMNS: list[Column] = [
    ("NUMBER", lambda p: f"#{p['number']}"),
    ("STATE", "state"),
    ("BRANCH", lambda p: f"{p['head']} → {p['base']}"),
    ("CHANGES", lambda p: f"+{p['additions']} -{p['deletions']} in {p['files_changed']} files"),
    ("URL", "url"),
]


def pull_line(pull: Mapping[str, Any]) -> str:
    return f"#{pull['number']} {pull['state']} {pull['head']} → {pull['base']} {pull['url']}"


def with_links(client: Client, task: Task) -> Task:
    """A local forge's pull request has no web page of its own: link the task's page."""
    page = f"{client.url.rstrip('/')}/tasks/{task['key']}"
    pulls = [{**p, "url": p.get("url") or page} for p in task.get("pull_requests") or []]
    return cast(Task, {**task, "pull_requests": pulls or task.get("pull_requests")})


def show_task(client: Client, task: Task) -> None:
    """The task as a record for people (local pull requests linked), or as the API sent it."""
    found = globals_of()
    if found.fmt == "json" or found.quiet:
        emit(task, TASK_FIELDS)
        return
    record(with_links(client, task), TASK_FIELDS)
    if task["description"]:
        click.echo("\n" + task["description"])


def every_event(
    client: Client, key: str, after: int, kinds: tuple[str, ...] | None
) -> Iterator[Event]:
    """The task's events after ``after``, page by page, oldest first."""
    while True:
        page = client.tasks.events(key, after, kinds=kinds or None)
        yield from page["items"]
        if not page["items"] or page["next_after"] == after:
            return
        after = page["next_after"]


def watch(render: Callable[[], bool], interval: float) -> None:
    """Redraw with ``render`` every ``interval`` seconds until it says stop (or Ctrl-C)."""
    clear = sys.stdout.isatty() and globals_of().fmt != "json"
    try:
        while True:
            if clear:
                click.clear()
                click.echo(f"Every {interval:g}s, {time.strftime('%H:%M:%S')} (Ctrl-C stops)\n")
            if render():
                return
            # A listing has no event to wait on: polling at the person's interval is the point.
            time.sleep(interval)
    except KeyboardInterrupt:
        return


watch_options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option("-w", "--watch", is_flag=True, help="Redraw until Ctrl-C (show: until it ends)."),
    click.option(
        "--interval",
        type=click.FloatRange(0.2),
        default=2.0,
        show_default=True,
        help="Seconds between redraws with --watch.",
    ),
]


def with_watch(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(watch_options):
        f = option(f)
    return f
