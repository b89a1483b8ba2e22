"""``taskyard notifications``: your channels, the events you get, teams' defaults and the
delivery log (docs/notifications.md)."""

from __future__ import annotations

import base64
import secrets

import click

from taskyard.cli.context import pass_client
from taskyard.cli.output import Column, done, emit
from taskyard.sdk import Client

CHANNEL_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("KIND", "kind"),
    ("WHERE", "summary"),
    ("ENABLED", lambda c: "yes" if c["enabled"] else "no"),
]
PREFERENCE_COLUMNS: list[Column] = [
    ("EVENT", "event"),
    ("ENABLED", lambda p: "yes" if p["enabled"] else "no"),
    ("CHANNELS", lambda p: ", ".join(p["channels"]) or "(all)"),
]
DELIVERY_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("EVENT", "event"),
    ("TASK", "task"),
    ("CHANNEL", "channel"),
    ("STATUS", "status"),
    ("TRIES", "attempts"),
    ("CODE", lambda d: d["last_status_code"] or ""),
    ("NEXT TRY", lambda d: d["next_attempt_at"] or ""),
    ("ERROR", "last_error"),
]


@click.group()
def notifications() -> None:
    """Notifications: where you hear of your tasks (webhook, Slack, email) and of what."""


@notifications.command("channels")
@pass_client
def list_channels(client: Client) -> None:
    """List your channels (their secrets are never shown)."""
    found = client.notifications.channels()
    emit(
        found, CHANNEL_COLUMNS, "No channels: add one with `taskyard notifications add`.", key="id"
    )


@notifications.command("add")
@click.argument("kind")
@click.argument("name")
@click.option("--url", help="webhook: where to POST the signed JSON.")
@click.option(
    "--secret", help="webhook: its signing secret (whsec_...; default: a new one, printed once)."
)
@click.option("--webhook-url", help="slack: an incoming webhook URL.")
@click.option("--token", help="slack: a bot token (with --channel) to update messages in place.")
@click.option("--channel", help="slack: the channel to post in (with --token).")
@click.option("--address", help="email: the address to write to.")
@pass_client
def add(client: Client, kind: str, name: str, secret: str | None, **given: str | None) -> None:
    """Add channel NAME of KIND (webhook, slack, email)."""
    config = {key: value for key, value in given.items() if value}
    made = ""
    if kind == "webhook" and not secret:
        # Made here, not by the server: the server never hands a secret out.
        secret = made = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    if secret:
        config["secret"] = secret
    channel = client.notifications.add_channel(kind, name, **config)
    done(channel, f"Channel {channel['id']}: {kind} {name} → {channel['summary']}.", "id")
    if made:  # shown whatever the output format: it is nowhere else
        click.echo(
            f"Its signing secret (shown only now; give it to the receiver): {made}", err=True
        )


@notifications.command("enable")
@click.argument("channel_id", type=click.IntRange(1))
@click.option("--off", is_flag=True, help="Turn it off instead.")
@pass_client
def enable(client: Client, channel_id: int, off: bool) -> None:
    """Turn channel CHANNEL_ID on (or --off)."""
    channel = client.notifications.change_channel(channel_id, enabled=not off)
    done(channel, f"Channel {channel_id} {'off' if off else 'on'}.", "id")


@notifications.command("remove")
@click.argument("channel_id", type=click.IntRange(1))
@pass_client
def remove(client: Client, channel_id: int) -> None:
    """Remove channel CHANNEL_ID."""
    client.notifications.delete_channel(channel_id)
    done({"id": channel_id}, f"Channel {channel_id} removed.", "id")


@notifications.command("preferences")
@click.option("--team", help="A team's defaults instead of yours.")
@click.option("--on", "on", multiple=True, help="Want this event (task.completed...; repeat).")
@click.option("--off", "off", multiple=True, help="Not this event (repeat).")
@click.option(
    "--only", "only", multiple=True, help="On these channels (names; repeat) for --on events."
)
@pass_client
def preferences(
    client: Client,
    team: str | None,
    on: tuple[str, ...],
    off: tuple[str, ...],
    only: tuple[str, ...],
) -> None:
    """Show, or change with --on/--off, your choices of events (or a team's defaults).

    Events you never chose follow your task's team's defaults, else the quiet ones:
    waiting, pull request ready, failed."""
    found = client.notifications.preferences(team=team)
    if on or off:
        chosen = [
            *(dict(p) for p in found if p["event"] not in (*on, *off)),
            *({"event": e, "enabled": True, "channels": list(only)} for e in on),
            *({"event": e, "enabled": False} for e in off),
        ]
        found = client.notifications.set_preferences(chosen, team=team)
    emit(
        found,
        PREFERENCE_COLUMNS,
        "Nothing chosen: you get waiting, pull request ready and failed (on all channels).",
        key="event",
    )


@notifications.command("deliveries")
@click.option("--status", type=click.Choice(("pending", "sent", "failed")), help="Only these.")
@click.option("--all", "everyone", is_flag=True, help="The organization's (admin).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@pass_client
def deliveries(client: Client, status: str | None, everyone: bool, limit: int) -> None:
    """The delivery log, newest first, with status codes and the next retry."""
    found = client.notifications.deliveries(status=status, everyone=everyone, limit=limit)
    emit(found, DELIVERY_COLUMNS, "No deliveries yet.", key="id")


@notifications.command("replay")
@click.argument("delivery_id", type=click.IntRange(1))
@pass_client
def replay(client: Client, delivery_id: int) -> None:
    """Send delivery DELIVERY_ID again now (same webhook-id)."""
    found = client.notifications.replay(delivery_id)
    done(found, f"Delivery {delivery_id} will be sent again.", "id")
