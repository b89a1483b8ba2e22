"""``taskyard tasks``: create tasks, follow them and act on them, through the REST API."""

from __future__ import annotations

import itertools
import json
from typing import Any, cast, get_args

import click

from taskyard.cli.output import (
    ClientGroup,
    Column,
    emit,
    emit_event,
    emit_json,
    output_option,
    pass_client,
    read_text,
    record,
    when,
)
from taskyard.sdk import FINAL_STATUSES, AgentKind, AgentOptions, Client, Task, TaskOptions

AGENT_KINDS = get_args(AgentKind)
STATUSES = ("queued", "provisioning", "working", "waiting", *FINAL_STATUSES)

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
    (
        "Status",
        lambda t: t["status"] + (f" ({t['status_message']})" if t["status_message"] else ""),
    ),
    ("Stage", "stage"),
    ("Agent", lambda t: t["agent"] + (f" ({t['agent_state']})" if t["agent_state"] else "")),
    ("Workflow", "workflow"),
    ("Team", "team"),
    ("Repository", "repository"),
    ("Branch", "branch"),
    ("Template", "template"),
    ("Creator", "creator"),
    ("Origin", "origin"),
    ("Created", lambda t: when(t["created_at"])),
    ("Ended", lambda t: when(t["ended_at"])),
    ("Usage", lambda t: f"{t['input_tokens']} in, {t['output_tokens']} out, ${t['cost_usd']:.4f}"),
    ("Pull requests", lambda t: [p.get("url") for p in t.get("pull_requests") or []]),
]


def _show(task: Task, fmt: str) -> None:
    if fmt == "json":
        emit_json(task)
        return
    record(task, TASK_FIELDS)
    if task["description"]:
        click.echo("\n" + task["description"])


def _finish(task: Task, wanted: tuple[str, ...] = ("completed",)) -> None:
    """Exit 1 unless the task reached a wanted status: scripts can `&&` on it."""
    if task["status"] not in wanted:
        message = f": {task['status_message']}" if task["status_message"] else ""
        raise click.ClickException(f"{task['key']} is {task['status']}{message}")


def _agent(kind: str | None, command: str | None, model: str | None) -> AgentOptions | None:
    """The agent replacing the template's, if any option asks for one (the whole block)."""
    if not (kind or command or model):
        return None
    agent: AgentOptions = {
        "kind": cast(AgentKind, kind or ("command" if command else "claude-code"))
    }
    if command:
        agent["command"] = command
    if model:
        agent["model"] = model
    return agent


def _parameters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON (``3``, ``true``, ``[..]``) is JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"'{pair}' is not name=value.", param_hint="--param")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


@click.group(cls=ClientGroup)
def tasks() -> None:
    """Create tasks, follow them and act on them."""


@tasks.command()
@click.option("--title", required=True, help="One line saying what to do.")
@click.option("--repo", "repository", required=True, help="org/repo, or a local repository path.")
@click.argument("description", required=False, default="")
@click.option("--team", help="Team key or slug (default: the first team).")
@click.option("--template", help="Template name (default: the team's).")
@click.option("--workflow", help="Workflow name (default: the team's default).")
@click.option(
    "--agent",
    "agent_kind",
    type=click.Choice(AGENT_KINDS),
    help="Agent replacing the template's (with --agent-command and --model).",
)
@click.option(
    "--agent-command", help="Shell command of the command agent (implies --agent command)."
)
@click.option("--model", help="Model of the replacing agent.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A template parameter, repeatable; JSON values (3, true, [..]) are parsed.",
)
@click.option("--base-branch", default="", help="Branch to start from (default: the repo's).")
@click.option("--creator", help="Username the task is for (default: you).")
@click.option("--origin", default="cli", show_default=True, help="Where the task comes from.")
@click.option("--run/--no-run", default=True, show_default=True, help="Start it at once.")
@click.option("--follow", is_flag=True, help="Print its events until it ends.")
@click.option("--wait", is_flag=True, help="Wait until it ends; exit 1 unless it completed.")
@output_option
@pass_client
def create(
    client: Client,
    title: str,
    repository: str,
    description: str,
    team: str | None,
    template: str | None,
    workflow: str | None,
    agent_kind: str | None,
    agent_command: str | None,
    model: str | None,
    params: tuple[str, ...],
    base_branch: str,
    creator: str | None,
    origin: str,
    run: bool,
    follow: bool,
    wait: bool,
    fmt: str,
) -> None:
    """Create a task and (unless --no-run) start it.

    DESCRIPTION tells the agent what to do; - reads it from stdin. With --follow or
    --wait the command ends when the task does, and exits 1 unless it completed.
    """
    if not run and (follow or wait):
        raise click.UsageError("--follow and --wait need the task to run (drop --no-run).")
    options: TaskOptions = {
        "description": read_text(description),
        "team": team,
        "template": template,
        "workflow": workflow,
        "agent": _agent(agent_kind, agent_command, model),
        "parameters": _parameters(params) or None,
        "base_branch": base_branch,
        "creator": creator,
        "origin": origin,
    }
    task = client.tasks.create(title=title, repository=repository, run=run, **options)
    if not (follow or wait):
        _show(task, fmt)
        return
    click.echo(f"Created {task['key']}: {task['title']}", err=True)
    if follow:
        for event in client.tasks.follow(task["key"]):
            emit_event(event, fmt)
    task = client.tasks.wait(task["key"])
    if wait:
        _show(task, fmt)
    _finish(task)


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
@output_option
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
    fmt: str,
) -> None:
    """List tasks, newest first."""
    found = client.tasks.iter_all(
        status=status,
        team=team,
        origin=origin,
        repository=repository,
        creator=creator,
        page_size=200 if everything else min(limit, 200),
    )
    rows = list(found if everything else itertools.islice(found, limit))
    emit(rows, fmt, TASK_COLUMNS, empty="No tasks.")


@tasks.command()
@click.argument("key")
@output_option
@pass_client
def show(client: Client, key: str, fmt: str) -> None:
    """Show a task (KEY such as TY-42, or its id)."""
    _show(client.tasks.get(key), fmt)


@tasks.command()
@click.argument("key")
@click.option("--after", type=click.IntRange(0), default=0, help="Only events after this id.")
@click.option("--kind", "kinds", multiple=True, help="Only events of this kind (repeatable).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing events until the task ends.")
@output_option
@pass_client
def events(
    client: Client, key: str, after: int, kinds: tuple[str, ...], follow: bool, fmt: str
) -> None:
    """Print a task's events; with -o json, one JSON object per line."""
    if follow:
        for event in client.tasks.follow(key, after, kinds=kinds or None):
            emit_event(event, fmt)
        return
    while True:
        page = client.tasks.events(key, after, kinds=kinds or None)
        for event in page["items"]:
            emit_event(event, fmt)
        if not page["items"] or page["next_after"] == after:
            return
        after = page["next_after"]


@tasks.command()
@click.argument("key")
@click.argument("text")
@pass_client
def send(client: Client, key: str, text: str) -> None:
    """Send the agent a message (TEXT, or - for stdin); it becomes its next turn."""
    task = client.tasks.send(key, read_text(text))
    click.echo(f"Sent to {task['key']} ({task['status']}).")


@tasks.command()
@click.argument("key")
@click.option("-m", "--comment", default="", help="A comment recorded with the approval.")
@pass_client
def approve(client: Client, key: str, comment: str) -> None:
    """Approve the stage a task waits on."""
    task = client.tasks.approve(key, comment)
    click.echo(f"Approved {task['key']} at {task['stage']}.")


@tasks.command("request-changes")
@click.argument("key")
@click.argument("text")
@click.option("--stage", default="", help="Stage to go back to (default: the gate's).")
@pass_client
def request_changes(client: Client, key: str, text: str, stage: str) -> None:
    """Send a task back with TEXT (or - for stdin) as the agent's next prompt."""
    task = client.tasks.request_changes(key, read_text(text), stage)
    click.echo(f"Requested changes on {task['key']}.")


@tasks.command()
@click.argument("key")
@pass_client
def cancel(client: Client, key: str) -> None:
    """Cancel a task wherever it is."""
    task = client.tasks.cancel(key)
    click.echo(f"Cancelling {task['key']}.")


@tasks.command()
@click.argument("key")
@pass_client
def start(client: Client, key: str) -> None:
    """Start a task created with --no-run."""
    task = client.tasks.start(key)
    click.echo(f"Started {task['key']}.")


@tasks.command()
@click.argument("key")
@pass_client
def diff(client: Client, key: str) -> None:
    """Print the task branch's changes as a unified diff."""
    click.echo(client.tasks.diff(key), nl=False)


@tasks.command()
@click.argument("key")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Status to wait for, repeatable (default: any end).",
)
@click.option("--stage", help="Also wait until the task is in this stage.")
@click.option("--timeout", type=float, help="Give up after this many seconds.")
@output_option
@pass_client
def wait(
    client: Client,
    key: str,
    statuses: tuple[str, ...],
    stage: str | None,
    timeout: float | None,
    fmt: str,
) -> None:
    """Wait for a task to end, or to reach --status (and --stage).

    Prints the task, and exits 1 unless it completed (or reached a --status).
    """
    wanted = statuses or FINAL_STATUSES
    task = client.tasks.wait(key, wanted, stage=stage, timeout=timeout)
    _show(task, fmt)
    _finish(task, statuses or ("completed",))
