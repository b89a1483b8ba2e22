"""``taskyard schedules``: tasks made on a cron expression (docs/intake.md, "Schedules")."""

from __future__ import annotations

import click

from taskyard.cli.context import globals_of, pass_client
from taskyard.cli.output import Column, done, emit, table
from taskyard.sdk import Client

COLUMNS: list[Column] = [
    ("NAME", "name"),
    ("CRON", "cron"),
    ("TIME ZONE", "time_zone"),
    ("OVERLAP", "overlap"),
    ("STATE", lambda s: "paused" if s["paused"] else "active"),
    ("OWNER", "owner"),
    ("REPOSITORY", lambda s: s["task"]["repository"]),
    ("TITLE", lambda s: s["task"]["title"]),
]
DETAIL: list[Column] = [
    *COLUMNS,
    ("Paused because", "paused_reason"),
    ("Team", lambda s: s["task"].get("team") or "(first)"),
    ("Template", lambda s: s["task"].get("template") or "(team's)"),
    ("Workflow", lambda s: s["task"].get("workflow") or "(team's default)"),
]
RUNS: list[Column] = [
    ("FIRED AT", "fired_at"),
    ("OUTCOME", "outcome"),
    ("TASK", lambda r: r["task"] or ""),
    ("STATUS", lambda r: r["task_status"] or ""),
    ("REASON", "reason"),
]
OVERLAP = click.Choice(["skip", "allow"])
CRON_HELP = "5, 6 or 7 fields (see `taskyard schedules add --help`), or @daily..."


@click.group()
def schedules() -> None:
    """Schedules: a task made on a cron expression, with pause, resume and run now."""


@schedules.command("list")
@pass_client
def list_schedules(client: Client) -> None:
    """List your schedules (an admin: the organization's)."""
    found = client.schedules.list()
    emit(found, COLUMNS, "No schedules: add one with `taskyard schedules add`.", key="name")


@schedules.command("show")
@click.argument("name")
@pass_client
def show(client: Client, name: str) -> None:
    """Show schedule NAME and its latest runs, newest first."""
    schedule = client.schedules.get(name)
    emit(schedule, DETAIL, key="name")
    given = globals_of()
    if given.fmt != "json" and not given.quiet:
        click.echo()
        table(schedule["runs"] or [], RUNS, "No runs yet.")


@schedules.command("add")
@click.argument("name")
@click.argument("cron")
@click.option("--title", required=True, help="Title of each task.")
@click.option("--repository", required=True, help="Repository of each task (owner/name).")
@click.option("--prompt", default="", help="What the agent is asked to do (the description).")
@click.option("--time-zone", default="UTC", show_default=True, help="IANA name: Europe/Paris.")
@click.option(
    "--overlap",
    type=OVERLAP,
    default="skip",
    show_default=True,
    help="skip: no new task while the last one is open; allow: one each time.",
)
@click.option("--team", help="Team of the tasks (default: the first).")
@click.option("--template", help="Template of the tasks (default: the team's).")
@click.option("--workflow", help="Workflow of the tasks (default: the team's).")
@click.option("--paused", is_flag=True, help="Create it paused.")
@pass_client
def add(
    client: Client,
    name: str,
    cron: str,
    title: str,
    repository: str,
    prompt: str,
    time_zone: str,
    overlap: str,
    team: str | None,
    template: str | None,
    workflow: str | None,
    paused: bool,
) -> None:
    """Make a task at each time CRON names, as schedule NAME (owned by you).

    CRON has 5 fields (minute hour day-of-month month day-of-week), 6 (and a year),
    7 (a second first), or is @hourly, @daily, @weekly, @monthly or @yearly.
    """
    schedule = client.schedules.create(
        name,
        cron,
        title=title,
        repository=repository,
        description=prompt,
        time_zone=time_zone,
        overlap=overlap,
        paused=paused,
        team=team,
        template=template,
        workflow=workflow,
    )
    done(schedule, f"Schedule {name}: {schedule['cron']} ({schedule['time_zone']}).", "name")


@schedules.command("update")
@click.argument("name")
@click.option("--cron", help=CRON_HELP)
@click.option("--time-zone", help="IANA name: Europe/Paris.")
@click.option("--overlap", type=OVERLAP, help="skip or allow.")
@pass_client
def update(
    client: Client, name: str, cron: str | None, time_zone: str | None, overlap: str | None
) -> None:
    """Change schedule NAME's cron, time zone or overlap policy."""
    schedule = client.schedules.update(name, cron=cron, time_zone=time_zone, overlap=overlap)
    done(schedule, f"Schedule {name}: {schedule['cron']} ({schedule['time_zone']}).", "name")


@schedules.command("pause")
@click.argument("name")
@pass_client
def pause(client: Client, name: str) -> None:
    """Stop schedule NAME firing until it is resumed."""
    done(client.schedules.pause(name), f"Schedule {name} paused.", "name")


@schedules.command("resume")
@click.argument("name")
@pass_client
def resume(client: Client, name: str) -> None:
    """Fire schedule NAME on its cron again (also after it paused itself)."""
    done(client.schedules.resume(name), f"Schedule {name} resumed.", "name")


@schedules.command("run")
@click.argument("name")
@pass_client
def run(client: Client, name: str) -> None:
    """Fire schedule NAME once now (its overlap policy applies)."""
    client.schedules.run(name)
    done({"name": name}, f"Schedule {name} fired: see `taskyard schedules show {name}`.", "name")


@schedules.command("remove")
@click.argument("name")
@pass_client
def remove(client: Client, name: str) -> None:
    """Delete schedule NAME and its history (the tasks it made stay)."""
    client.schedules.delete(name)
    done({"name": name}, f"Schedule {name} removed.", "name")
