"""``taskyard tasks create`` and what people do to a task: send, approve, cancel, name
its reviewers..."""

from __future__ import annotations

import json
from typing import Any

import click

from taskyard.cli import progress
from taskyard.cli.completion import task_key
from taskyard.cli.context import finish, pass_client
from taskyard.cli.output import done, emit_event, hint, read_text
from taskyard.cli.task_view import show_task
from taskyard.sdk import AgentOptions, Client, TaskOptions


def _agent(kind: str | None, command: str | None, model: str | None) -> AgentOptions | None:
    """The agent replacing the template's, if any option asks for one (the whole block)."""
    if not (kind or command or model):
        return None
    agent: AgentOptions = {"kind": kind or ("command" if command else "claude-code")}
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


@click.command()
@click.option("--title", required=True, help="One line saying what to do.")
@click.option("--repo", "repository", required=True, help="org/repo, or a local repository path.")
@click.argument("description", required=False, default="")
@click.option("--team", help="Team key or slug (default: the first team).")
@click.option("--template", help="Template name (default: the team's).")
@click.option("--workflow", help="Workflow name (default: the team's default).")
@click.option(
    "--agent",
    "agent_kind",
    metavar="KIND",
    help="Agent replacing the template's: any kind the server knows (claude-code, codex, "
    "command...), with --agent-command and --model.",
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
@click.option(
    "--reviewer",
    "reviewers",
    multiple=True,
    metavar="USERNAME",
    help="Someone asked to review it, repeatable: they hear of it as its creator does.",
)
@click.option("--origin", default="cli", show_default=True, help="Where the task comes from.")
@click.option(
    "--thread",
    help="The conversation it answers (github:acme/shop#12): if an open task is on it, "
    "DESCRIPTION goes to that task as a message instead.",
)
@click.option("--run/--no-run", default=True, show_default=True, help="Start it at once.")
@click.option("--follow", is_flag=True, help="Print its events until it ends.")
@click.option("--wait", is_flag=True, help="Wait until it ends; exit non-zero unless it completed.")
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
    reviewers: tuple[str, ...],
    origin: str,
    thread: str | None,
    run: bool,
    follow: bool,
    wait: bool,
) -> None:
    """Create a task and (unless --no-run) start it.

    DESCRIPTION tells the agent what to do; - reads it from stdin. With --follow or
    --wait the command ends when the task does, and exits non-zero unless it completed
    (see "Exit status" in docs/cli.md).
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
        "reviewers": list(reviewers) or None,
        "origin": origin,
    }
    created = True
    if thread is None:
        task = client.tasks.create(title=title, repository=repository, run=run, **options)
    else:
        task, created = client.tasks.create_in_thread(
            thread, title=title, repository=repository, run=run, **options
        )
    if not created:
        hint(f"{task['key']} is open on thread {thread}: it got the description as a message.")
    if not (follow or wait):
        show_task(client, task)
        if run:
            hint(f"Follow it with `taskyard tasks logs {task['key']} --follow`.")
        return
    if created:
        hint(f"Created {task['key']}: {task['title']}")
    if follow:
        for event in client.tasks.follow(task["key"]):
            emit_event(event)
        task = client.tasks.get(task["key"])
    else:
        task = progress.wait(client, task["key"])
    if wait:
        show_task(client, task)
    finish(task)


@click.command()
@task_key
@click.argument("text")
@pass_client
def send(client: Client, key: str, text: str) -> None:
    """Send the agent a message (TEXT, or - for stdin); it becomes its next turn."""
    task = client.tasks.send(key, read_text(text))
    done(task, f"Sent to {task['key']} ({task['status']}).")


@click.command()
@task_key
@click.option("-m", "--comment", default="", help="A comment recorded with the approval.")
@pass_client
def approve(client: Client, key: str, comment: str) -> None:
    """Approve the stage a task waits on."""
    task = client.tasks.approve(key, comment)
    done(task, f"Approved {task['key']} at {task['stage']}.")
    hint(f"Follow it with `taskyard tasks wait {task['key']}`.")


@click.command("request-changes")
@task_key
@click.argument("text")
@click.option("--stage", default="", help="Stage to go back to (default: the gate's).")
@pass_client
def request_changes(client: Client, key: str, text: str, stage: str) -> None:
    """Send a task back with TEXT (or - for stdin) as the agent's next prompt."""
    task = client.tasks.request_changes(key, read_text(text), stage)
    done(task, f"Requested changes on {task['key']}.")


@click.command()
@task_key
@pass_client
def cancel(client: Client, key: str) -> None:
    """Cancel a task wherever it is."""
    task = client.tasks.cancel(key)
    done(task, f"Cancelling {task['key']}.")


@click.command()
@task_key
@pass_client
def start(client: Client, key: str) -> None:
    """Start a task created with --no-run."""
    task = client.tasks.start(key)
    done(task, f"Started {task['key']}.")


@click.command("reviewers")
@task_key
@click.argument("usernames", nargs=-1)
@click.option("--clear", is_flag=True, help="Leave the task no reviewers.")
@pass_client
def reviewers_(client: Client, key: str, usernames: tuple[str, ...], clear: bool) -> None:
    """Set who is asked to review a task: USERNAME... replace its reviewers.

    They hear of the task as its creator does, by their own notification settings
    (by default: when it waits for someone, its pull request is ready, or it fails).
    """
    if clear == bool(usernames):
        raise click.UsageError("Give the reviewers' usernames, or --clear (not both).")
    task = client.tasks.set_reviewers(key, list(usernames))
    named = ", ".join(task["reviewers"]) or "none"
    done(task, f"Reviewers of {task['key']}: {named}.")


ACTIONS: list[click.Command] = [
    create,
    send,
    approve,
    request_changes,
    cancel,
    start,
    reviewers_,
]
