"""Entry point of the ``taskyard`` command."""

from __future__ import annotations

import click

from taskyard import __version__
from taskyard.cli import admin
from taskyard.cli.account import account, login, logout
from taskyard.cli.completion import completion
from taskyard.cli.context import RootGroup, add_global_options
from taskyard.cli.forges import forges
from taskyard.cli.github import github
from taskyard.cli.intake import intake
from taskyard.cli.mcp import mcp
from taskyard.cli.notifications import notifications
from taskyard.cli.orgs import orgs
from taskyard.cli.quickstart import quickstart
from taskyard.cli.schedules import schedules
from taskyard.cli.serve import serve, worker
from taskyard.cli.server_admin import admin as server_admin
from taskyard.cli.tasks import tasks
from taskyard.cli.teams import teams

COMMANDS: list[click.Command] = [
    quickstart,
    login,
    logout,
    account,
    tasks,
    *admin.COMMANDS,
    teams,
    orgs,
    forges,
    github,
    schedules,
    notifications,
    intake,
    mcp,
    completion,
    serve,
    worker,
    server_admin,
]
#: Run on the server with its settings: the client's options mean nothing to them.
SERVER_COMMANDS = frozenset({"serve", "worker", "admin"})


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taskyard")
def cli() -> None:
    """taskyard: run AI coding agents on units of work.

    New here? Start the server (`make run`), then run `taskyard quickstart`.
    """


for command in COMMANDS:
    cli.add_command(command)
add_global_options(cli, skip=SERVER_COMMANDS)


def main() -> None:
    cli()
