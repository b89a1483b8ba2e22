"""``taskyard admin``: what only someone on the server itself can do, straight on its database.

These commands read the server's settings (TASKYARD_DATABASE_URL, TASKYARD_DATA_DIR) as
``taskyard serve`` does, not a URL and a token: they are for the first steps, before
anyone can sign in, and for getting back in when no one can.
"""

from __future__ import annotations

import getpass
import sys

import click

from taskyard.model.errors import TaskyardError


@click.group()
def admin() -> None:
    """Server-side administration (run on the server, with its settings)."""


@admin.command("set-password")
@click.argument("username")
@click.option(
    "--org", "organization", default="", help="Organization slug (when several have USERNAME)."
)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the password from stdin's first line."
)
def set_password(username: str, organization: str, from_stdin: bool) -> None:
    """Set USERNAME's password for signing in to the dashboard.

    The password is asked for twice (or read from stdin with --stdin), never taken from
    the command line, where other users of the machine could see it. Setting it signs
    the user's browsers out.
    """
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt(
            f"New password for {username}", hide_input=True, confirmation_prompt=True
        )
    else:
        raise click.UsageError("No terminal to ask on: pipe the password in with --stdin.")
    from sqlalchemy.exc import SQLAlchemyError

    from taskyard.config import get_settings
    from taskyard.db.session import session_scope
    from taskyard.services.passwords import set_password_on_server

    settings = get_settings()
    actor = f"{getpass.getuser()} (server command line)"
    try:
        with session_scope(settings.resolved_database_url) as session:
            set_password_on_server(session, username, organization, password, actor)
    except TaskyardError as exc:
        raise click.ClickException(exc.message) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            # Not the URL itself: it may hold the database's password.
            f"Cannot use the database (TASKYARD_DATABASE_URL): {exc.__class__.__name__}. "
            "Run this where `taskyard serve` runs, with its TASKYARD_* settings, after it "
            "has started once."
        ) from exc
    click.echo(f"Set the password of {username}: they can sign in at /login now.")
