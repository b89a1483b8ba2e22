"""``taskyard login`` and ``taskyard logout``: keep the server and token in a file;
``taskyard account``: what the token's user does for themselves."""

from __future__ import annotations

import os
import sys

import click

from taskyard.cli import config
from taskyard.cli.context import Exit, globals_of, pass_client
from taskyard.cli.output import done, read_text
from taskyard.sdk import Client, TaskyardError


@click.command()
def login() -> None:
    """Check a server URL and API token, and keep them for the next commands.

    Give them with --url and --token (or TASKYARD_URL and TASKYARD_TOKEN); without a
    token it is asked for, or read from stdin (`echo $TOKEN | taskyard login`). They
    are written to ~/.config/taskyard/config.json (or $TASKYARD_CONFIG), readable by
    you only. TASKYARD_URL, TASKYARD_TOKEN and --url/--token still win over it.
    """
    # The file being replaced is no source here: log in with what was given now.
    given = globals_of()
    url = given.url or os.environ.get("TASKYARD_URL")
    token = given.token or os.environ.get("TASKYARD_TOKEN")
    if not token:
        where = url or "the local server"
        token = (
            click.prompt(f"API token for {where}", hide_input=True)
            if sys.stdin.isatty()
            else read_text("-")
        )
    token = token.strip()
    if not token:
        raise Exit("No token given: pass --token, or paste one when asked.")
    try:
        with Client(url, token) as client:
            client.tokens.list()
            url = client.url
    except TaskyardError as exc:
        raise Exit(f"Not logged in: {exc.message}") from exc
    file = config.save(url, token)
    done({"url": url, "config": str(file)}, f"Logged in to {url}; saved in {file}.", "url")


@click.command()
def logout() -> None:
    """Forget the server and token `taskyard login` kept."""
    file = config.remove()
    message = f"Removed {file}." if file else "Not logged in: nothing to forget."
    done({"config": str(file) if file else None}, message, "config")


@click.group()
def account() -> None:
    """Your own account on the server."""


@account.command("link-github")
@pass_client
def link_github(client: Client) -> None:
    """Print a one-time URL that links your GitHub account to you.

    Open it in a browser within ten minutes and sign in to GitHub there: once linked,
    your issues and comments on GitHub can start tasks (on repositories you may write
    to). The server needs a GitHub OAuth App (see docs/github.md).
    """
    link = client.users.link_github()
    done(
        dict(link), f"Open this URL in a browser to link your GitHub account:\n{link['url']}", "url"
    )
