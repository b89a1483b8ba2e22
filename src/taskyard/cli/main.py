"""Entry point of the ``taskyard`` command."""

from __future__ import annotations

import click

from taskyard import __version__
from taskyard.cli import admin
from taskyard.cli.mcp import mcp
from taskyard.cli.orgs import orgs
from taskyard.cli.serve import serve, worker
from taskyard.cli.tasks import tasks

COMMANDS: list[click.Command] = [serve, worker, tasks, *admin.COMMANDS, orgs, mcp]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taskyard")
def cli() -> None:
    """taskyard: run AI coding agents on units of work."""


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli()
