"""Notifications: one's own channels and preferences, teams' defaults, the delivery log
(see docs/notifications.md; the rules live in :mod:`taskyard.services.notification_settings`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors, links
from taskyard.db.models import NotificationChannel, NotificationDelivery
from taskyard.model.inputs import MAX_INT64, Name
from taskyard.services import notification_settings as chosen
from taskyard.services.notification_settings import Preference
from taskyard.services.notifications import QUIET_DEFAULTS

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
CHANNEL = "/api/v1/notifications/channels/{channel_id}"
DELIVERY = "/api/v1/notifications/deliveries/{delivery_id}"

ChannelId = Annotated[int, Path(ge=1, le=MAX_INT64)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_INT64)]
Config = Annotated[
    dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=2000)]],
    Field(
        max_length=10,
        description="Where it goes: webhook `url` and `secret` (`whsec_` + base64); Slack "
        "`webhook_url`, or `token` and `channel`; email `address`. Never shown again.",
    ),
]


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Name = Field(description="webhook, slack, email, or an installed plug-in's kind.")
    name: Name
    config: Config


class ChannelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    config: Config | None = None


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    summary: str = Field(description="Where it goes, without any secret.")
    enabled: bool
    created_at: dt.datetime


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preferences: list[Preference] = Field(max_length=20)


class PreferencesOut(Preferences):
    defaults: list[str] = Field(
        sorted(QUIET_DEFAULTS),
        description="The events on for whoever chose nothing (and whose team set nothing).",
    )


class DeliveryOut(BaseModel):
    id: int
    event: str
    subject: str
    task: str = Field(description="The task's key; empty for events not about a task.")
    channel: str
    kind: str
    status: str = Field(description="pending (owed; see next_attempt_at), sent, or failed.")
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    created_at: dt.datetime


def _channel(channel: NotificationChannel) -> ChannelOut:
    return ChannelOut.model_validate(channel, from_attributes=True)


def _delivery(row: NotificationDelivery, channel: NotificationChannel) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event=row.event,
        subject=row.subject,
        task=row.task_key,
        channel=channel.name,
        kind=channel.kind,
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        sent_at=row.sent_at,
        created_at=row.created_at,
    )


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(session: SessionDep, principal: PrincipalDep) -> list[ChannelOut]:
    """Your channels (their configuration is never shown)."""
    return [_channel(c) for c in chosen.list_channels(session, principal)]


@router.post(
    "/channels",
    status_code=201,
    response_model=ChannelOut,
    responses={
        **errors(409),
        **links(201, "id", ("PATCH", CHANNEL, "channel_id"), ("DELETE", CHANNEL, "channel_id")),
    },
)
def add_channel(
    body: ChannelIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> ChannelOut:
    """Add a channel of yours (at most 50)."""
    return _channel(
        chosen.add_channel(session, settings, principal, body.kind, body.name, body.config)
    )


@router.patch("/channels/{channel_id}", response_model=ChannelOut)
def change_channel(
    channel_id: ChannelId,
    body: ChannelChange,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> ChannelOut:
    """Turn a channel of yours on or off, or replace its configuration."""
    return _channel(
        chosen.change_channel(session, settings, principal, channel_id, body.enabled, body.config)
    )


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(channel_id: ChannelId, session: SessionDep, principal: PrincipalDep) -> None:
    """Remove a channel of yours; what it still owed is not sent."""
    chosen.delete_channel(session, principal, channel_id)


@router.get("/preferences", response_model=PreferencesOut)
def get_preferences(session: SessionDep, principal: PrincipalDep) -> PreferencesOut:
    """Your choices: the events you turned on or off, and on which of your channels."""
    return PreferencesOut(preferences=chosen.preferences(session, principal))


@router.put("/preferences", response_model=PreferencesOut)
def put_preferences(
    body: Preferences, session: SessionDep, principal: PrincipalDep
) -> PreferencesOut:
    """Replace your choices; an event you leave out follows your task's team's default,
    else the quiet default (waiting, pull request ready, failed)."""
    chosen.set_preferences(session, principal, body.preferences)
    return PreferencesOut(preferences=chosen.preferences(session, principal))


@router.get("/teams/{team}", response_model=PreferencesOut)
def get_team_defaults(team: str, session: SessionDep, principal: PrincipalDep) -> PreferencesOut:
    """The events a team's tasks notify their people of where they chose nothing."""
    return PreferencesOut(preferences=chosen.team_defaults(session, principal, team))


@router.put("/teams/{team}", response_model=PreferencesOut)
def put_team_defaults(
    team: str, body: Preferences, session: SessionDep, principal: PrincipalDep
) -> PreferencesOut:
    """Replace a team's defaults (admin)."""
    chosen.set_team_defaults(session, principal, team, body.preferences)
    return PreferencesOut(preferences=chosen.team_defaults(session, principal, team))


@router.get("/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str, Query(max_length=20)] = "",
    everyone: Annotated[
        bool, Query(alias="all", description="The organization's (admin), not only yours.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> list[DeliveryOut]:
    """The delivery log, newest first: status, attempts, last status code or error, and
    the next retry of those still owed."""
    found = chosen.deliveries(
        session, principal, everyone=everyone, status=status, limit=limit, before=before
    )
    return [_delivery(row, channel) for row, channel in found]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
def show_delivery(
    delivery_id: DeliveryId, session: SessionDep, principal: PrincipalDep
) -> DeliveryOut:
    return _delivery(*chosen.delivery(session, principal, delivery_id))


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay_delivery(
    delivery_id: DeliveryId, session: SessionDep, principal: PrincipalDep
) -> DeliveryOut:
    """Send a delivery again now, with the same notice id (``webhook-id``)."""
    return _delivery(*chosen.replay(session, principal, delivery_id))
