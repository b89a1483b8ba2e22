"""``/settings/notifications``: your notification channels and which events you hear of.

A channel's configuration goes in and is never shown again (its summary says where it
goes), as the API does; see docs/notifications.md.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep, SettingsDep
from taskyard.api.pages.forms import FormDep, redirect_done, settings_page, text
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.model.errors import InvalidInput, TaskyardError
from taskyard.model.inputs import MAX_INT64
from taskyard.model.registry import CHANNELS, kinds_in
from taskyard.services import notification_settings as chosen
from taskyard.services.notification_settings import CONFIG_VALUE, Preference
from taskyard.services.notifications import EVENTS, QUIET_DEFAULTS

router = APIRouter(include_in_schema=False)
PATH = "/settings/notifications"
# The configuration keys of the built-in kinds (docs/notifications.md), one field each.
CONFIG_FIELDS = ("url", "secret", "webhook_url", "token", "channel", "address")


def _page(
    session: Session,
    viewer: Viewer,
    *,
    done: str = "",
    error: TaskyardError | None = None,
    channel_name: str = "",
) -> HTMLResponse:
    try:
        channels = chosen.list_channels(session, viewer.principal)
        own = {p.event: p for p in chosen.preferences(session, viewer.principal)}
    except TaskyardError as exc:
        channels, own, error = [], {}, error or exc
    return settings_page(
        "settings/notifications.html",
        viewer,
        section="settings",
        menu="notifications",
        done=done,
        error=error,
        channels=channels,
        kinds=kinds_in(CHANNELS),
        events=[(event, own.get(event), event in QUIET_DEFAULTS) for event in EVENTS],
        channel_name=channel_name,
    )


@router.get(PATH, response_class=HTMLResponse)
def notifications(viewer: ViewerDep, session: SessionDep, done: str = "") -> HTMLResponse:
    return _page(session, viewer, done=done)


@router.post(f"{PATH}/channels")
def add_channel(
    viewer: CheckedViewerDep, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    name = form.get("name", "").strip()[:64]
    try:
        config = {
            key: text(form, key, CONFIG_VALUE).strip()
            for key in CONFIG_FIELDS
            if form.get(key, "").strip()
        }
        kind = text(form, "kind", 40, "The kind")
        channel = chosen.add_channel(
            session, settings, viewer.principal, kind, text(form, "name", 64).strip(), config
        )
    except TaskyardError as exc:
        return _page(session, viewer, error=exc, channel_name=name)
    return redirect_done(PATH, f"Added channel {channel.name}.")


def _channel_id(channel_id: int) -> int:
    if not 1 <= channel_id <= MAX_INT64:
        raise InvalidInput(f"You have no notification channel {channel_id}.")
    return channel_id


@router.post(f"{PATH}/channels/{{channel_id}}")
def switch_channel(
    channel_id: int,
    viewer: CheckedViewerDep,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    enabled = form.get("enabled") == "true"
    try:
        channel = chosen.change_channel(
            session, settings, viewer.principal, _channel_id(channel_id), enabled, None
        )
    except TaskyardError as exc:
        return _page(session, viewer, error=exc)
    return redirect_done(PATH, f"Turned channel {channel.name} {'on' if enabled else 'off'}.")


@router.post(f"{PATH}/channels/{{channel_id}}/delete")
def delete_channel(channel_id: int, viewer: CheckedViewerDep, session: SessionDep) -> Response:
    try:
        chosen.delete_channel(session, viewer.principal, _channel_id(channel_id))
    except TaskyardError as exc:
        return _page(session, viewer, error=exc)
    return redirect_done(PATH, "Removed the channel.")


@router.post(f"{PATH}/preferences")
def set_preferences(viewer: CheckedViewerDep, form: FormDep, session: SessionDep) -> Response:
    """One choice per event: "default" (follow the team's, else the quiet default), "on"
    or "off"; an event that is on goes to the channels ticked for it (none ticked: all)."""
    try:
        names = {c.name for c in chosen.list_channels(session, viewer.principal)}
        choices = []
        for event in EVENTS:
            choice = form.get(f"event:{event}", "default")
            if choice not in ("on", "off"):
                continue
            ticked = sorted(n for n in names if form.get(f"channel:{event}:{n}") == "on")
            choices.append(Preference(event=event, enabled=choice == "on", channels=ticked))
        chosen.set_preferences(session, viewer.principal, choices)
    except ValidationError as exc:
        return _page(session, viewer, error=InvalidInput(str(exc.errors()[0]["msg"])))
    except TaskyardError as exc:
        return _page(session, viewer, error=exc)
    return redirect_done(PATH, "Saved your notification choices.")
