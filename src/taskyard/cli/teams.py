"""``taskyard teams``: groups with their own task keys, workflows and limit on runs at once."""

from __future__ import annotations

from typing import Any

import click

from taskyard.cli.context import pass_client
from taskyard.cli.output import Column, emit
from taskyard.sdk import Client


def _limit(team: Any) -> str:
    """``3``, ``none``, with ``(default)`` when the team follows the installation's."""
    shown = str(team["limit"]) if team["limit"] else "none"
    return shown if team["max_running"] is not None else f"{shown} (default)"


TEAM_COLUMNS: list[Column] = [
    ("KEY", "key"),
    ("SLUG", "slug"),
    ("NAME", "name"),
    ("TASKS", "tasks"),
    ("LIMIT", _limit),
    ("RUNNING", "running"),
    ("QUEUED", "queued"),
]


@click.group()
def teams() -> None:
    """Manage teams: groups with their own task keys and workflows."""


@teams.command("list")
@pass_client
def list_teams(client: Client) -> None:
    """List teams, with how many of their tasks run and wait in line."""
    emit(client.teams.list(), TEAM_COLUMNS)


@teams.command("show")
@click.argument("team")
@pass_client
def show_team(client: Client, team: str) -> None:
    """Show TEAM (key or slug): its limit, running and queued tasks."""
    emit(client.teams.get(team), TEAM_COLUMNS)


@teams.command("create")
@click.argument("key")
@click.option("--name", default="", help="Display name.")
@click.option("--slug", default="", help="URL name (default: from the key).")
@pass_client
def create_team(client: Client, key: str, name: str, slug: str) -> None:
    """Create a team with task key prefix KEY (admin)."""
    emit(client.teams.create(key, name=name, slug=slug), TEAM_COLUMNS)


@teams.command("limit")
@click.argument("team")
@click.argument("max_running", metavar="N|default")
@pass_client
def limit_team(client: Client, team: str, max_running: str) -> None:
    """Let at most N tasks of TEAM run an agent at once (admin).

    More wait in line, queued, and start in the order they came; none is ever
    stopped to make room. 0 means no limit; `default` follows the installation's
    TASKYARD_TEAM_MAX_RUNNING again.
    """
    if max_running != "default" and not max_running.isdigit():
        raise click.BadParameter(
            f"{max_running!r} is not a whole number or 'default'.", param_hint="N"
        )
    value = None if max_running == "default" else int(max_running)
    emit(client.teams.set_limit(team, value), TEAM_COLUMNS)
