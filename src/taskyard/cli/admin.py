"""Administration through the REST API: workflows, templates, users, tokens, secrets."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from taskyard.cli.context import globals_of, pass_client
from taskyard.cli.output import Column, done, emit, emit_json, read_text, record, when
from taskyard.sdk import Client

CREATED: Column = ("CREATED", lambda r: when(r["created_at"]))


def _stages(workflow: Mapping[str, Any]) -> str:
    """``Plan (approval) → Code → ...``: the stages in order, marking where people decide."""
    return " → ".join(
        (s.get("name") or s["key"]) + (" (approval)" if s.get("gate") == "approval" else "")
        for s in workflow["stages"]
    )


WORKFLOW_COLUMNS: list[Column] = [
    ("TEAM", "team"),
    ("NAME", "name"),
    ("DEFAULT", "default"),
    ("ARCHIVED", "archived"),
    ("STAGES", _stages),
]
TEMPLATE_COLUMNS: list[Column] = [
    ("NAME", "name"),
    ("VERSION", "version"),
    ("AGENT", "agent"),
    ("DESCRIPTION", "description"),
    CREATED,
]
USER_COLUMNS: list[Column] = [
    ("USERNAME", "username"),
    ("NAME", "name"),
    ("EMAIL", "email"),
    ("ADMIN", "admin"),
    CREATED,
]
TOKEN_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("PREFIX", "prefix"),
    ("SCOPES", "scopes"),
    CREATED,
    ("REVOKED", "revoked"),
]
SECRET_COLUMNS: list[Column] = [("NAME", "name"), ("UPDATED", lambda r: when(r["updated_at"]))]

team_option = click.option("--team", help="Team key or slug (default: the first team).")


# Workflows -------------------------------------------------------------------


@click.group()
def workflows() -> None:
    """Manage a team's workflows: ordered stages, each with an agent and a gate."""


@workflows.command("list")
@team_option
@click.option("--archived", is_flag=True, help="Include archived workflows.")
@pass_client
def list_workflows(client: Client, team: str | None, archived: bool) -> None:
    """List a team's workflows."""
    emit(client.workflows.list(team=team, archived=archived), WORKFLOW_COLUMNS, key="name")


@workflows.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@team_option
@click.option("--default", "make_default", is_flag=True, help="Make it the team's default.")
@pass_client
def create_workflow(client: Client, file: str, team: str | None, make_default: bool) -> None:
    """Create a workflow from a YAML or JSON FILE (- for stdin) with `name` and `stages`."""
    import yaml  # only this command reads YAML on the client: keep start-up quick

    text = sys.stdin.read() if file == "-" else Path(file).read_text()
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{file} is not valid YAML or JSON: {exc}") from exc
    if not isinstance(spec, dict) or "name" not in spec or "stages" not in spec:
        raise click.ClickException(f"{file} must be a mapping with 'name' and 'stages'.")
    created = client.workflows.create(
        str(spec["name"]),
        spec["stages"],
        team=team or spec.get("team"),
        default=make_default or bool(spec.get("default")),
    )
    emit(created, WORKFLOW_COLUMNS, key="name")


@workflows.command("default")
@click.argument("name")
@team_option
@pass_client
def default_workflow(client: Client, name: str, team: str | None) -> None:
    """Make NAME the workflow new tasks of the team get."""
    workflow = client.workflows.set_default(name, team=team)
    done(
        workflow,
        f"{workflow['name']} is now the default workflow of team {workflow['team']}.",
        "name",
    )


@workflows.command("archive")
@click.argument("name")
@team_option
@pass_client
def archive_workflow(client: Client, name: str, team: str | None) -> None:
    """Archive NAME: no new tasks on it; tasks already on it finish on it."""
    workflow = client.workflows.archive(name, team=team)
    active = workflow.get("active_tasks", 0)
    done(workflow, f"Archived {workflow['name']} ({active} tasks still on it).", "name")


@workflows.command("delete")
@click.argument("name")
@team_option
@pass_client
def delete_workflow(client: Client, name: str, team: str | None) -> None:
    """Delete NAME, which no task may ever have used (archive it otherwise)."""
    client.workflows.delete(name, team=team)
    done({"name": name, "deleted": True}, f"Deleted workflow {name}.", "name")


# Templates -------------------------------------------------------------------


@click.group()
def templates() -> None:
    """Manage templates: versioned YAML describing the workspace and the agent."""


@templates.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@pass_client
def push_template(client: Client, file: str) -> None:
    """Push a template FILE (- for stdin) as the next version of its name."""
    source = sys.stdin.read() if file == "-" else Path(file)
    emit(client.templates.push(source), TEMPLATE_COLUMNS)


@templates.command("list")
@pass_client
def list_templates(client: Client) -> None:
    """List templates (the newest version of each)."""
    emit(client.templates.list(), TEMPLATE_COLUMNS, empty="No templates.")


@templates.command("show")
@click.argument("name")
@click.option("--version", type=click.IntRange(1), help="A version (default: the newest).")
@pass_client
def show_template(client: Client, name: str, version: int | None) -> None:
    """Show a template's summary and YAML source."""
    found = client.templates.get(name, version)
    if globals_of().fmt == "json" or globals_of().quiet:
        emit(found, TEMPLATE_COLUMNS)
        return
    record(found, TEMPLATE_COLUMNS)
    click.echo("\n" + found.get("source", "").rstrip("\n"))


@templates.command("versions")
@click.argument("name")
@pass_client
def template_versions(client: Client, name: str) -> None:
    """List every version of template NAME."""
    emit(client.templates.versions(name), TEMPLATE_COLUMNS)


# Users and tokens ----------------------------------------------------------------


@click.group()
def users() -> None:
    """Manage the people of the organization."""


@users.command("list")
@pass_client
def list_users(client: Client) -> None:
    """List users."""
    emit(client.users.list(), USER_COLUMNS)


@users.command("create")
@click.argument("username")
@click.option("--name", default="", help="Full name.")
@click.option("--email", default="", help="Email address.")
@click.option("--admin", is_flag=True, help="Make an administrator (needs an admin token).")
@pass_client
def create_user(client: Client, username: str, name: str, email: str, admin: bool) -> None:
    """Create a user."""
    emit(client.users.create(username, name=name, email=email, admin=admin), USER_COLUMNS)


@users.command("link")
@click.argument("username")
@click.option("--github-id", required=True, help="The GitHub account's numeric id.")
@click.option("--login", default="", help="The GitHub login, for display.")
@pass_client
def link_user(client: Client, username: str, github_id: str, login: str) -> None:
    """Link a GitHub account to USERNAME: tasks from its issues become theirs."""
    identity = client.users.link_identity(username, github_id, login=login)
    linked = identity["login"] or identity["external_id"]
    done(identity, f"Linked GitHub {linked} to {username}.", "external_id")


@click.group()
def tokens() -> None:
    """Manage your API tokens."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="A scope, repeatable (default: tasks:read, tasks:write, users:read, templates:read).",
)
@click.option("--user", help="Make it for another user (admins only).")
@pass_client
def create_token(client: Client, name: str, scopes: tuple[str, ...], user: str | None) -> None:
    """Create a token and print it; it is shown this once only."""
    token = client.tokens.create(name, scopes=scopes or None, user=user)
    if globals_of().fmt == "json":
        emit_json(token)
        return
    # The value alone on stdout, so `TOKEN=$(taskyard tokens create ci)` works.
    click.echo(
        f"Token {token['id']} for {token.get('user')}: {', '.join(token['scopes'])}", err=True
    )
    click.echo(token.get("token", ""))


@tokens.command("list")
@pass_client
def list_tokens(client: Client) -> None:
    """List your tokens (prefixes only)."""
    emit(client.tokens.list(), TOKEN_COLUMNS)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@pass_client
def revoke_token(client: Client, token_id: int) -> None:
    """Revoke token ID; it stops working at once."""
    client.tokens.revoke(token_id)
    done({"id": token_id, "revoked": True}, f"Revoked token {token_id}.", "id")


# Secrets ---------------------------------------------------------------


@click.group()
def secrets() -> None:
    """Manage organization secrets that templates pass to agents."""


@secrets.command("set")
@click.argument("name")
@click.option("--value", help="The value (default: read from stdin, or prompted for).")
@pass_client
def set_secret(client: Client, name: str, value: str | None) -> None:
    """Create or replace secret NAME; its value can never be read back."""
    if value is None:
        value = click.prompt("Value", hide_input=True) if sys.stdin.isatty() else read_text("-")
    secret = client.secrets.set(name, value)
    done(secret, f"Set secret {secret['name']}.", "name")


@secrets.command("list")
@pass_client
def list_secrets(client: Client) -> None:
    """List secret names."""
    emit(client.secrets.list(), SECRET_COLUMNS, empty="No secrets.")


@secrets.command("delete")
@click.argument("name")
@pass_client
def delete_secret(client: Client, name: str) -> None:
    """Delete secret NAME."""
    client.secrets.delete(name)
    done({"name": name, "deleted": True}, f"Deleted secret {name}.", "name")


COMMANDS: list[click.Command] = [workflows, templates, users, tokens, secrets]
