"""``taskyard tasks``: create tasks, follow them and act on them, through the REST API."""

from __future__ import annotations

import itertools

import click

from taskyard.cli import progress
from taskyard.cli.completion import task_key
from taskyard.cli.context import finish, globals_of, pass_client
from taskyard.cli.output import emit, emit_event, emit_json, emit_log
from taskyard.cli.task_actions import ACTIONS
from taskyard.cli.task_view import (
    PULL_COLUMNS,
    TASK_COLUMNS,
    every_event,
    show_task,
    with_links,
    with_watch,
)
from taskyard.cli.task_view import (
    watch as redraw,
)
from taskyard.sdk import FINAL_STATUSES, Client

STATUSES = ("queued", "provisioning", "working", "waiting", *FINAL_STATUSES)
LOG_KINDS = ("output", "agent")


@click.group()
def tasks() -> None:
    """Create tasks, follow them and act on them."""


@tasks.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only tasks in this status.")
@click.option("--team", help="Team key or slug.")
@click.option("--origin", help="Origin, such as github_issue.")
@click.option("--repo", "repository", help="Repository, exactly as the task has it.")
@click.option("--creator", help="Username the tasks are for.")
@click.option(
    "--limit", type=click.IntRange(1), default=50, show_default=True, help="How many to list."
)
@click.option("--all", "everything", is_flag=True, help="Every matching task (ignores --limit).")
@with_watch
@pass_client
def list_(
    client: Client,
    status: str | None,
    team: str | None,
    origin: str | None,
    repository: str | None,
    creator: str | None,
    limit: int,
    everything: bool,
    watch: bool,
    interval: float,
) -> None:
    """List tasks, newest first."""

    def render() -> bool:
        found = client.tasks.iter_all(
            status=status,
            team=team,
            origin=origin,
            repository=repository,
            creator=creator,
            page_size=200 if everything else min(limit, 200),
        )
        rows = list(found if everything else itertools.islice(found, limit))
        emit(rows, TASK_COLUMNS, empty="No tasks.")
        return not watch

    if watch:
        redraw(render, interval)
    else:
        render()


@tasks.command()
@task_key
@with_watch
@pass_client
def show(client: Client, key: str, watch: bool, interval: float) -> None:
    """Show a task (KEY such as TY-42, or its id).

    With --watch it is redrawn until the task ends, and the exit status says how it
    ended (as `tasks wait`).
    """

    def render() -> bool:
        task = client.tasks.get(key)
        show_task(client, task)
        if watch and task["status"] in FINAL_STATUSES:
            finish(task)
        return not watch or task["status"] in FINAL_STATUSES

    if watch:
        redraw(render, interval)
    else:
        render()


@tasks.command()
@task_key
@click.option("--after", type=click.IntRange(0), default=0, help="Only events after this id.")
@click.option("--kind", "kinds", multiple=True, help="Only events of this kind (repeatable).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing events until the task ends.")
@pass_client
def events(client: Client, key: str, after: int, kinds: tuple[str, ...], follow: bool) -> None:
    """Print a task's events; with -o json, one JSON object per line.

    With --follow the exit status says how the task ended (as `tasks wait`).
    """
    if not follow:
        for event in every_event(client, key, after, kinds):
            emit_event(event)
        return
    for event in client.tasks.follow(key, after, kinds=kinds or None):
        emit_event(event)
    finish(client.tasks.get(key))


@tasks.command()
@task_key
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the task ends.")
@click.option("--tail", type=click.IntRange(0), help="Only the last N entries so far.")
@pass_client
def logs(client: Client, key: str, follow: bool, tail: int | None) -> None:
    """Print what the task's agent said and printed, as it said it.

    The agent's text, tool calls and output lines, without the task's other events
    (`tasks events` has them all). With --follow the exit status says how the task
    ended (as `tasks wait`).
    """
    seen = list(every_event(client, key, 0, LOG_KINDS))
    for event in seen[-tail:] if tail else ([] if tail == 0 else seen):
        emit_log(event)
    if follow:
        after = seen[-1]["id"] if seen else 0
        for event in client.tasks.follow(key, after, kinds=LOG_KINDS):
            emit_log(event)
        finish(client.tasks.get(key))


@tasks.command()
@task_key
@pass_client
def pulls(client: Client, key: str) -> None:
    """List the task's pull requests (-q: their URLs).

    A pull request on the built-in local forge links the task's page on the server.
    """
    task = client.tasks.get(key)
    if globals_of().fmt == "json":  # as the API sends them; a local one's url is ""
        emit_json(task.get("pull_requests") or [])
        return
    linked = with_links(client, task).get("pull_requests") or []
    emit(linked, PULL_COLUMNS, empty="No pull requests.", key="url")


@tasks.command()
@task_key
@pass_client
def diff(client: Client, key: str) -> None:
    """Print the task branch's changes as a unified diff (-o json: {"key", "diff"})."""
    text = client.tasks.diff(key)
    if globals_of().fmt == "json":
        emit_json({"key": key, "diff": text})
    else:
        click.echo(text, nl=False)


@tasks.command()
@task_key
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Status to wait for, repeatable (default: any end).",
)
@click.option("--stage", help="Also wait until the task is in this stage.")
@click.option(
    "--timeout", type=click.FloatRange(0, min_open=True), help="Give up after this many seconds."
)
@pass_client
def wait(
    client: Client, key: str, statuses: tuple[str, ...], stage: str | None, timeout: float | None
) -> None:
    """Wait for a task to end, or to reach --status (and --stage).

    Prints the task. Exits 0 if it completed (or reached a --status), 3 if it failed,
    4 if it was cancelled, 5 if --timeout passed first, 1 if it ended otherwise.
    """
    task = progress.wait(client, key, statuses or FINAL_STATUSES, stage=stage, timeout=timeout)
    show_task(client, task)
    finish(task, statuses or ("completed",))


for action in ACTIONS:
    tasks.add_command(action)
