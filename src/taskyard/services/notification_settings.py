"""What people choose about their notifications: their channels, the events they want,
their teams' defaults; and what they may see of what was sent (the delivery log).

Everyone manages their own channels and preferences (``tasks:read`` to read,
``tasks:write`` to change); an admin sets teams' defaults and reads the whole
organization's log. A channel's configuration (URL, signing secret, token) is stored
encrypted and never shown again: the API shows a ``summary`` of where it goes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    utcnow,
)
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.inputs import Name
from taskyard.model.registry import CHANNELS, require_kind
from taskyard.notify import outbound
from taskyard.notify.email_message import address as email_address
from taskyard.notify.slack import destination as slack_destination
from taskyard.notify.webhook import secret_key
from taskyard.services import notification_outbox, secrets, teams
from taskyard.services.access import ADMIN, Principal, require
from taskyard.services.notifications import EVENTS

MAX_CHANNELS = 50  # per person
CONFIG_KEYS = 10
CONFIG_VALUE = 2000
#: What each built-in kind's configuration must hold; other kinds are checked by their plug-in.
REQUIRED = {"webhook": ("url", "secret"), "email": ("address",)}
DELIVERY_STATUSES = ("pending", "sent", "failed")


class Preference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: str = Field(max_length=40, description=f"One of: {', '.join(EVENTS)}.")
    enabled: bool = True
    channels: list[Name] = Field(
        default_factory=list,
        max_length=MAX_CHANNELS,
        description="Names of your channels it goes to; empty: all of them. Ignored for "
        "a team's defaults (each person's channels are their own).",
    )


def _check_event(event: str) -> None:
    if event not in EVENTS:
        raise InvalidInput(f"Unknown event '{event[:40]}'. Events: {', '.join(EVENTS)}.")


def _check_config(settings: Settings, kind: str, config: Mapping[str, str]) -> str:
    """Refuse a configuration ``kind`` cannot use, or whose URL points where the server
    may not send (TASKYARD_OUTBOUND_ALLOWED_HOSTS); return its summary (no secret in it)."""
    if len(config) > CONFIG_KEYS or any(
        len(k) > 40 or len(v) > CONFIG_VALUE for k, v in config.items()
    ):
        raise InvalidInput(
            f"A channel's config holds at most {CONFIG_KEYS} keys of at most 40 characters, "
            f"values of at most {CONFIG_VALUE}."
        )
    missing = [key for key in REQUIRED.get(kind, ()) if not config.get(key)]
    if kind == "slack" and not (config.get("webhook_url") or config.get("token")):
        missing.append("webhook_url (or token and channel)")
    if missing:
        raise InvalidInput(f"A {kind} channel needs: {', '.join(missing)}.")
    try:
        if kind == "webhook":
            secret_key(config["secret"])
        elif kind == "slack":
            slack_destination(config)
        elif kind == "email":
            email_address(config["address"])
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    for key in ("url", "webhook_url"):
        if key in config:
            parts = urlsplit(config[key])
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidInput(f"'{key}' must be an http(s) URL.")
            # A name that does not resolve is let be: no request can go there now, and
            # each send checks again before connecting. Resolving blocks, once.
            with contextlib.suppress(outbound.Unresolved):
                outbound.check(config[key], settings.allowed_hosts)
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if kind == "slack":
        return f"Slack {config.get('channel', '')}".strip()
    return config.get("address", "")[:300]


def add_channel(
    session: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    name: str,
    config: Mapping[str, str],
) -> NotificationChannel:
    require(principal, "tasks:write")
    require_kind(CHANNELS, "notification channel", kind)
    summary = _check_config(settings, kind, config)
    owned = session.scalars(
        select(NotificationChannel.name).where(NotificationChannel.user_id == principal.user_id)
    ).all()
    if name in owned:
        raise Conflict(f"You have a channel named '{name}' already.")
    if len(owned) >= MAX_CHANNELS:
        raise InvalidInput(f"At most {MAX_CHANNELS} channels per person.")
    channel = NotificationChannel(
        org_id=principal.org_id,
        user_id=principal.user_id,
        kind=kind,
        name=name,
        config_ciphertext=secrets.seal(settings, json.dumps(dict(config))),
        summary=summary,
    )
    session.add(channel)
    session.flush()
    return channel


def _own_channel(session: Session, principal: Principal, channel_id: int) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or channel.user_id != principal.user_id:
        raise NotFound(f"You have no notification channel {channel_id}.")
    return channel


def list_channels(session: Session, principal: Principal) -> list[NotificationChannel]:
    require(principal, "tasks:read")
    return list(
        session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.user_id == principal.user_id)
            .order_by(NotificationChannel.id)
        )
    )


def change_channel(
    session: Session,
    settings: Settings,
    principal: Principal,
    channel_id: int,
    enabled: bool | None,
    config: Mapping[str, str] | None,
) -> NotificationChannel:
    """Turn a channel on or off, or give it a new configuration (e.g. a new secret)."""
    require(principal, "tasks:write")
    channel = _own_channel(session, principal, channel_id)
    if enabled is not None:
        channel.enabled = enabled
    if config is not None:
        channel.summary = _check_config(settings, channel.kind, config)
        channel.config_ciphertext = secrets.seal(settings, json.dumps(dict(config)))
    return channel


def delete_channel(session: Session, principal: Principal, channel_id: int) -> None:
    """Remove a channel, with its deliveries (owed ones are never sent)."""
    require(principal, "tasks:write")
    session.delete(_own_channel(session, principal, channel_id))


def preferences(session: Session, principal: Principal) -> list[Preference]:
    """The caller's own choices; other events follow their task's team's default, else
    the quiet defaults (:data:`taskyard.services.notifications.QUIET_DEFAULTS`)."""
    require(principal, "tasks:read")
    own = _rows(session, user_id=principal.user_id)
    return [Preference(event=p.event, enabled=p.enabled, channels=list(p.channels)) for p in own]


def _whose(user_id: int | None, team_id: int | None) -> ColumnElement[bool]:
    if user_id is not None:
        return NotificationPreference.user_id == user_id
    return NotificationPreference.team_id == team_id


def _rows(
    session: Session, *, user_id: int | None = None, team_id: int | None = None
) -> list[NotificationPreference]:
    return list(session.scalars(select(NotificationPreference).where(_whose(user_id, team_id))))


def _replace(
    session: Session,
    org_id: int,
    chosen: Sequence[Preference],
    *,
    user_id: int | None = None,
    team_id: int | None = None,
) -> None:
    seen: set[str] = set()
    for preference in chosen:
        _check_event(preference.event)
        if preference.event in seen:
            raise InvalidInput(f"Event '{preference.event}' is given twice.")
        seen.add(preference.event)
    session.execute(delete(NotificationPreference).where(_whose(user_id, team_id)))
    for preference in chosen:
        session.add(
            NotificationPreference(
                org_id=org_id,
                user_id=user_id,
                team_id=team_id,
                event=preference.event,
                enabled=preference.enabled,
                channels=list(preference.channels) if user_id else [],
            )
        )
    session.flush()


def set_preferences(session: Session, principal: Principal, chosen: Sequence[Preference]) -> None:
    """Replace the caller's choices: events not given follow their team's default again."""
    require(principal, "tasks:write")
    names = {c.name for c in list_channels(session, principal)}
    for preference in chosen:
        unknown = sorted(set(preference.channels) - names)
        if unknown:
            raise InvalidInput(f"You have no channel named {', '.join(unknown)}.")
    _replace(session, principal.org_id, chosen, user_id=principal.user_id)


def team_defaults(session: Session, principal: Principal, team_ref: str) -> list[Preference]:
    require(principal, "tasks:read")
    team = teams.get_team(session, principal, team_ref)
    return [Preference(event=p.event, enabled=p.enabled) for p in _rows(session, team_id=team.id)]


def set_team_defaults(
    session: Session, principal: Principal, team_ref: str, chosen: Sequence[Preference]
) -> None:
    """What a team's tasks' people get where they chose nothing themselves (admin)."""
    require(principal, ADMIN)
    team = teams.get_team(session, principal, team_ref)
    _replace(session, principal.org_id, chosen, team_id=team.id)


def deliveries(
    session: Session,
    principal: Principal,
    *,
    everyone: bool,
    status: str,
    limit: int,
    before: int | None,
) -> list[tuple[NotificationDelivery, NotificationChannel]]:
    """The delivery log, newest first: the caller's, or (``everyone``, admin) the
    organization's."""
    require(principal, "tasks:read")
    if everyone:
        require(principal, ADMIN)
    if status and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"Status is one of: {', '.join(DELIVERY_STATUSES)}.")
    query = select(NotificationDelivery, NotificationChannel).join(
        NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id
    )
    query = query.where(NotificationDelivery.org_id == principal.org_id)
    if not everyone:
        query = query.where(NotificationDelivery.user_id == principal.user_id)
    if status:
        query = query.where(NotificationDelivery.status == status)
    if before is not None:
        query = query.where(NotificationDelivery.id < before)
    rows = session.execute(query.order_by(NotificationDelivery.id.desc()).limit(limit))
    return [(d, c) for d, c in rows]


def delivery(
    session: Session, principal: Principal, delivery_id: int, *, write: bool = False
) -> tuple[NotificationDelivery, NotificationChannel]:
    """One delivery of the caller's (an admin: of the organization's)."""
    require(principal, "tasks:write" if write else "tasks:read")
    row = session.get(NotificationDelivery, delivery_id)
    mine = row is not None and row.user_id == principal.user_id
    admins = row is not None and row.org_id == principal.org_id and principal.has(ADMIN)
    if row is None or not (mine or admins):
        raise NotFound(f"No notification delivery {delivery_id}.")
    channel = session.get(NotificationChannel, row.channel_id)
    assert channel is not None  # deliveries go with their channel
    return row, channel


def replay(
    session: Session, principal: Principal, delivery_id: int
) -> tuple[NotificationDelivery, NotificationChannel]:
    """Send a delivery again at once: one sent, given up, or waiting for its next retry
    (same notice id, so a receiver can tell it is the same)."""
    row, channel = delivery(session, principal, delivery_id, write=True)
    if row.claimed_until is not None and row.claimed_until > utcnow():
        raise Conflict(f"Delivery {delivery_id} is being sent right now.")
    notification_outbox.replay(session, row)
    return row, channel
