"""``taskyard intake``: the other products that open tasks (docs/intake.md)."""

from __future__ import annotations

import click

from taskyard.cli.context import pass_client
from taskyard.cli.output import Column, done, emit
from taskyard.sdk import Client

KINDS = ("sentry", "support", "webhook")
FIELDS = ("title", "description", "repository", "template", "team", "dedup_key")
COLUMNS: list[Column] = [
    ("SLUG", "slug"),
    ("KIND", "kind"),
    ("NAME", "name"),
    ("URL", "url"),
    ("REPOSITORY", lambda s: s["repository"] or "(mapped)"),
    ("TEAM", lambda s: s["team"] or "(first)"),
    ("TEMPLATE", lambda s: s["template"] or "(team's)"),
]
SHOWN: list[Column] = [*COLUMNS, ("WORKFLOW", "workflow"), ("MAPPING", "mapping")]


@click.group()
def intake() -> None:
    """Intake: Sentry, support queues and webhooks that open tasks."""


@intake.command("list")
@pass_client
def list_sources(client: Client) -> None:
    """List the organization's intake sources."""
    found = client.intake_sources.list()
    emit(found, COLUMNS, "No intake sources: add one with `taskyard intake add`.", key="slug")


@intake.command("show")
@click.argument("slug")
@pass_client
def show(client: Client, slug: str) -> None:
    """Show intake source SLUG (never its secret)."""
    emit(client.intake_sources.get(slug), SHOWN, key="slug")


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        field, sep, expression = pair.partition("=")
        if not sep or field not in FIELDS:
            raise click.BadParameter(
                f"'{pair}': write FIELD=EXPRESSION, FIELD one of {', '.join(FIELDS)}.",
                param_hint="--map",
            )
        found[field] = expression
    return found


@intake.command("add")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--repository", default="", help="Repository of the tasks (org/repo).")
@click.option("--slug", default="", help="Last part of the inbound URL (default: made up).")
@click.option(
    "--secret",
    default="",
    envvar="TASKYARD_INTAKE_SECRET",
    help="Sentry's client secret (required for sentry); made up for the others when empty.",
)
@click.option("--team", help="Team of the tasks (default: the first).")
@click.option("--template", help="Template of the tasks (default: the team's).")
@click.option("--workflow", help="Workflow of the tasks (default: the team's).")
@click.option("--prompt", default="", help="Your instruction to the agent (default per kind).")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    help="webhook: FIELD=EXPRESSION, e.g. title='$.alert.title' (repeat).",
)
@pass_client
def add(
    client: Client,
    kind: str,
    name: str,
    repository: str,
    slug: str,
    secret: str,
    team: str | None,
    template: str | None,
    workflow: str | None,
    prompt: str,
    pairs: tuple[str, ...],
) -> None:
    """Let a KIND source called NAME open tasks (admin). Prints its URL and, this once,
    its secret."""
    source = client.intake_sources.create(
        kind,
        name,
        repository=repository,
        slug=slug,
        secret=secret,
        team=team,
        template=template,
        workflow=workflow,
        prompt=prompt,
        mapping=_mapping(pairs),
    )
    done(
        source,
        f"Intake source {source['slug']}: send deliveries to {source['url']}.\n"
        f"Its secret (shown this once): {source.get('secret', '')}",
        "slug",
    )


@intake.command("remove")
@click.argument("slug")
@pass_client
def remove(client: Client, slug: str) -> None:
    """Remove intake source SLUG (admin): its deliveries are refused from now on."""
    client.intake_sources.delete(slug)
    done({"slug": slug}, f"Intake source {slug} removed.", "slug")
