"""``taskyard github``: what starts a task on a GitHub repository (docs/github.md)."""

from __future__ import annotations

import click

from taskyard.cli.context import pass_client
from taskyard.cli.output import Column, done, emit
from taskyard.sdk import Client

KINDS = ("label", "assigned", "comment", "pull_request", "paths")
COLUMNS: list[Column] = [
    ("ID", "id"),
    ("REPOSITORY", "repository"),
    ("KIND", "kind"),
    ("VALUE", lambda t: t["value"] or ", ".join(t["paths"])),
    ("TEAM", lambda t: t["team"] or "(first)"),
    ("TEMPLATE", lambda t: t["template"] or "(team's)"),
    ("WORKFLOW", lambda t: t["workflow"] or "(default)"),
]


@click.group()
def github() -> None:
    """GitHub: the triggers that start tasks from issues, comments, pull requests, pushes."""


@github.group()
def triggers() -> None:
    """List, add and remove the triggers of GitHub repositories."""


@triggers.command("list")
@click.option("--repository", help="Only this repository's (owner/name).")
@pass_client
def list_triggers(client: Client, repository: str | None) -> None:
    """List the organization's GitHub triggers."""
    found = client.github_triggers.list(repository=repository)
    emit(
        found, COLUMNS, "No GitHub triggers: add one with `taskyard github triggers add`.", key="id"
    )


@triggers.command("add")
@click.argument("repository")
@click.argument("kind", type=click.Choice(KINDS))
@click.option(
    "--value",
    default="",
    help="The label (default taskyard), the GitHub login (assigned), or the phrase "
    "(default /taskyard).",
)
@click.option("--path", "paths", multiple=True, help="A glob of watched files (paths; repeat).")
@click.option("--team", help="Team of the tasks (default: the first).")
@click.option("--template", help="Template of the tasks (default: the team's).")
@click.option("--workflow", help="Workflow of the tasks (default: the team's).")
@click.option(
    "--prompt",
    default="",
    help="Prompt template: {repository} {number} {url} {title} {body} {comment} {kind} {ref}.",
)
@pass_client
def add(
    client: Client,
    repository: str,
    kind: str,
    value: str,
    paths: tuple[str, ...],
    team: str | None,
    template: str | None,
    workflow: str | None,
    prompt: str,
) -> None:
    """Start tasks on REPOSITORY (owner/name) when KIND happens (admin)."""
    trigger = client.github_triggers.create(
        repository,
        kind,
        value=value,
        paths=paths,
        team=team,
        template=template,
        workflow=workflow,
        prompt=prompt,
    )
    what = trigger["value"] or ", ".join(trigger["paths"]) or "opened"
    done(trigger, f"Trigger {trigger['id']}: {kind} {what} on {repository}.", "id")


@triggers.command("remove")
@click.argument("trigger_id", type=click.IntRange(1))
@pass_client
def remove(client: Client, trigger_id: int) -> None:
    """Remove trigger TRIGGER_ID (admin)."""
    client.github_triggers.delete(trigger_id)
    done({"id": trigger_id}, f"Trigger {trigger_id} removed.", "id")
