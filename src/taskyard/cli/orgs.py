"""``taskyard orgs``: the installation's organizations, for the installation admin."""

from __future__ import annotations

import click

from taskyard.cli.context import globals_of, pass_client
from taskyard.cli.output import Column, emit, emit_json, when
from taskyard.sdk import Client

ORG_COLUMNS: list[Column] = [
    ("SLUG", "slug"),
    ("NAME", "name"),
    ("USERS", "users"),
    ("OWNERS", lambda r: ",".join(r["repository_owners"]) or "(none)"),
    ("CREATED", lambda r: when(r["created_at"])),
]


@click.group()
def orgs() -> None:
    """Manage organizations (needs a token with the installation:admin scope)."""


@orgs.command("list")
@pass_client
def list_orgs(client: Client) -> None:
    """List the installation's organizations."""
    emit(client.organizations.list(), ORG_COLUMNS, key="slug")


@orgs.command("create")
@click.argument("slug")
@click.option("--name", default="", help="Display name (default: the slug).")
@click.option("--admin", default="admin", show_default=True, help="Username of its first admin.")
@click.option("--team", default="TY", show_default=True, help="Key of its first team.")
@click.option(
    "--owner",
    "owners",
    multiple=True,
    help="A forge owner (acme of acme/shop) whose repositories it may work on; repeat it. "
    "'*' for every owner. None unless given.",
)
@pass_client
def create_org(
    client: Client, slug: str, name: str, admin: str, team: str, owners: tuple[str, ...]
) -> None:
    """Create organization SLUG with its first team and admin; print the admin's token."""
    created = client.organizations.create(
        slug, name=name, admin=admin, team=team, repository_owners=owners
    )
    if globals_of().fmt == "json":
        emit_json(created)
        return
    # The token alone on stdout, so `TOKEN=$(taskyard orgs create acme)` works.
    org = created["organization"]
    summary = f"Organization {org['slug']}: admin {created['admin']}, team {created['team']}"
    click.echo(summary, err=True)
    click.echo(created["token"])


@orgs.command("rename")
@click.argument("slug")
@click.argument("name")
@pass_client
def rename_org(client: Client, slug: str, name: str) -> None:
    """Give organization SLUG the display name NAME."""
    emit(client.organizations.rename(slug, name), ORG_COLUMNS, key="slug")


@orgs.command("set-owners")
@click.argument("slug")
@click.argument("owners", nargs=-1)
@pass_client
def set_owners(client: Client, slug: str, owners: tuple[str, ...]) -> None:
    """Let organization SLUG work on the repositories of OWNERS (acme of acme/shop) only.

    The server's forge credentials are shared by every organization: one names no
    repository of an owner not listed. '*' is every owner; no OWNERS, none.
    """
    emit(client.organizations.set_repository_owners(slug, owners), ORG_COLUMNS, key="slug")
