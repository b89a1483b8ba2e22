"""Every API operation as a :class:`~taskyard.sdk._wire.Call`, written once for both clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from taskyard.sdk._models import (
    FINAL_STATUSES,
    OPTION_ALIASES,
    Created,
    Event,
    EventPage,
    GitHubLink,
    GitHubTrigger,
    Identity,
    IntakeSource,
    NewOrganization,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    Schedule,
    Secret,
    Task,
    TaskFilters,
    TaskOptions,
    TaskPage,
    Team,
    Template,
    Token,
    User,
    Workflow,
)
from taskyard.sdk._wire import Call, parse_json, parse_nothing, parse_text

API = "/api/v1"
SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}


def _seg(value: str | int) -> str:
    """A path segment: task keys and names are user input, so never let them add a '/'."""
    return quote(str(value), safe="")


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def task_path(key: str, action: str = "") -> str:
    return f"{API}/tasks/{_seg(key)}" + (f"/{action}" if action else "")


# Tasks ---------------------------------------------------------------------


def create_task(title: str, repository: str, run: bool, options: TaskOptions) -> Call[Task]:
    body = _task_body(title, repository, run, options)
    return Call("POST", f"{API}/tasks", parse_json, json=body)


def create_in_thread(
    thread: str, title: str, repository: str, run: bool, options: TaskOptions
) -> Call[Created]:
    body = {**_task_body(title, repository, run, options), "thread": thread}
    return Call("POST", f"{API}/tasks", _created, json=body)


def _created(response: httpx.Response) -> Created:
    # 201: a new task; 200: the thread's open task, which got the description.
    return Created(response.json(), created=response.status_code == 201)


def _task_body(title: str, repository: str, run: bool, options: TaskOptions) -> dict[str, Any]:
    given: dict[str, Any] = dict(options)
    for alias, field in OPTION_ALIASES.items():
        if alias not in given:
            continue
        value = given.pop(alias)
        if given.get(field) not in (None, value):
            raise TypeError(f"'{alias}' is another name for '{field}': give one of them.")
        given[field] = None if value is None else str(value)
    body = _drop_none({"origin": "sdk", **given})
    body.update(title=title, repository=repository, run=run)
    return body


def list_tasks(filters: TaskFilters, limit: int, before: int | None) -> Call[TaskPage]:
    # The server ignores a query parameter it does not know, so a misspelt filter would
    # list everything: refuse it here, as a keyword argument of its own would be.
    unknown = sorted(set(filters) - set(TaskFilters.__annotations__))
    if unknown:
        raise TypeError(
            f"Unknown task filter {unknown[0]!r}; use {', '.join(TaskFilters.__annotations__)}."
        )
    params = _drop_none({**filters, "limit": limit, "before": before})
    return Call("GET", f"{API}/tasks", parse_json, params=params)


def get_task(key: str) -> Call[Task]:
    return Call("GET", task_path(key), parse_json)


def task_action(key: str, action: str, body: dict[str, Any] | None = None) -> Call[Task]:
    return Call("POST", task_path(key, action), parse_json, json=body)


def set_reviewers(key: str, usernames: Sequence[str]) -> Call[Task]:
    if isinstance(usernames, str):  # a lone name would be read as its letters
        raise TypeError("reviewers is a list of usernames, not one string.")
    body = {"reviewers": list(usernames)}
    return Call("PUT", task_path(key, "reviewers"), parse_json, json=body)


def events_params(
    after: int, kinds: Sequence[str] | None, limit: int | None = None
) -> dict[str, Any]:
    return _drop_none({"after": after, "kind": list(kinds) if kinds else None, "limit": limit})


def list_events(key: str, after: int, kinds: Sequence[str] | None, limit: int) -> Call[EventPage]:
    return Call(
        "GET", task_path(key, "events"), parse_json, params=events_params(after, kinds, limit)
    )


def diff(key: str) -> Call[str]:
    return Call("GET", task_path(key, "diff"), parse_text, headers={"Accept": "text/plain"})


STATE_KINDS = ("status", "stage")


def state_of(events: Sequence[Event], status: str = "", stage: str = "") -> tuple[str, str]:
    """The (status, stage) a task is in after ``events`` (its status and stage events)."""
    for event in events:
        if event["kind"] == "status":
            status = str(event["data"].get("status", status))
        elif event["kind"] == "stage":
            stage = str(event["data"].get("stage", stage))
    return status, stage


def report(
    on_change: Callable[[str, str], object] | None,
    state: tuple[str, str],
    before: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """Tell ``on_change`` where the task is now, if that changed; return ``state``."""
    if on_change is not None and state != before:
        on_change(*state)
    return state


def settled(state: tuple[str, str], wanted: frozenset[str], stage: str | None) -> bool:
    """Whether ``wait`` is done: the wanted status (and stage), or an end it cannot leave."""
    status, current = state
    return (status in wanted and stage in (None, current)) or status in FINAL_STATUSES


# Workflows and teams ---------------------------------------------------------


def list_workflows(team: str | None, archived: bool) -> Call[list[Workflow]]:
    params = _drop_none({"team": team, "archived": archived or None})
    return Call("GET", f"{API}/workflows", parse_json, params=params)


def create_workflow(
    name: str, stages: Sequence[dict[str, Any]], team: str | None, default: bool
) -> Call[Workflow]:
    body = _drop_none({"name": name, "stages": list(stages), "team": team, "default": default})
    return Call("POST", f"{API}/workflows", parse_json, json=body)


def workflow_action(name: str, action: str, team: str | None) -> Call[Workflow]:
    path = f"{API}/workflows/{_seg(name)}/{action}"
    return Call("POST", path, parse_json, params=_drop_none({"team": team}))


def delete_workflow(name: str, team: str | None) -> Call[None]:
    path = f"{API}/workflows/{_seg(name)}"
    return Call("DELETE", path, parse_nothing, params=_drop_none({"team": team}))


def list_teams() -> Call[list[Team]]:
    return Call("GET", f"{API}/teams", parse_json)


def create_team(key: str, name: str, slug: str) -> Call[Team]:
    return Call("POST", f"{API}/teams", parse_json, json={"key": key, "name": name, "slug": slug})


def get_team(team: str) -> Call[Team]:
    return Call("GET", f"{API}/teams/{_seg(team)}", parse_json)


def set_team_limit(team: str, max_running: int | None) -> Call[Team]:
    body = {"max_running": max_running}
    return Call("PATCH", f"{API}/teams/{_seg(team)}", parse_json, json=body)


# GitHub triggers ---------------------------------------------------------------


def list_github_triggers(repository: str | None) -> Call[list[GitHubTrigger]]:
    params = _drop_none({"repository": repository})
    return Call("GET", f"{API}/github/triggers", parse_json, params=params)


def create_github_trigger(body: dict[str, Any]) -> Call[GitHubTrigger]:
    return Call("POST", f"{API}/github/triggers", parse_json, json=_drop_none(body))


def delete_github_trigger(trigger_id: int) -> Call[None]:
    return Call("DELETE", f"{API}/github/triggers/{_seg(trigger_id)}", parse_nothing)


# Schedules ---------------------------------------------------------------------


def list_schedules() -> Call[list[Schedule]]:
    return Call("GET", f"{API}/schedules", parse_json)


def create_schedule(body: dict[str, Any]) -> Call[Schedule]:
    return Call("POST", f"{API}/schedules", parse_json, json=body)


def get_schedule(name: str) -> Call[Schedule]:
    return Call("GET", f"{API}/schedules/{_seg(name)}", parse_json)


def update_schedule(name: str, body: dict[str, Any]) -> Call[Schedule]:
    return Call("PATCH", f"{API}/schedules/{_seg(name)}", parse_json, json=_drop_none(body))


def schedule_action(name: str, action: str) -> Call[Schedule]:
    return Call("POST", f"{API}/schedules/{_seg(name)}/{action}", parse_json)


def delete_schedule(name: str) -> Call[None]:
    return Call("DELETE", f"{API}/schedules/{_seg(name)}", parse_nothing)


# Notifications -----------------------------------------------------------------

NOTIFY = f"{API}/notifications"


def list_channels() -> Call[list[NotificationChannel]]:
    return Call("GET", f"{NOTIFY}/channels", parse_json)


def add_channel(kind: str, name: str, config: dict[str, str]) -> Call[NotificationChannel]:
    body = {"kind": kind, "name": name, "config": config}
    return Call("POST", f"{NOTIFY}/channels", parse_json, json=body)


def change_channel(
    channel_id: int, enabled: bool | None, config: dict[str, str] | None
) -> Call[NotificationChannel]:
    body = _drop_none({"enabled": enabled, "config": config})
    return Call("PATCH", f"{NOTIFY}/channels/{_seg(channel_id)}", parse_json, json=body)


def delete_channel(channel_id: int) -> Call[None]:
    return Call("DELETE", f"{NOTIFY}/channels/{_seg(channel_id)}", parse_nothing)


def _preferences(response: httpx.Response) -> list[NotificationPreference]:
    found: list[NotificationPreference] = parse_json(response)["preferences"]
    return found


def get_preferences(team: str | None) -> Call[list[NotificationPreference]]:
    where = f"teams/{_seg(team)}" if team else "preferences"
    return Call("GET", f"{NOTIFY}/{where}", _preferences)


def set_preferences(
    preferences: Sequence[dict[str, Any]], team: str | None
) -> Call[list[NotificationPreference]]:
    where = f"teams/{_seg(team)}" if team else "preferences"
    body = {"preferences": list(preferences)}
    return Call("PUT", f"{NOTIFY}/{where}", _preferences, json=body)


def list_deliveries(
    status: str | None, everyone: bool, limit: int, before: int | None
) -> Call[list[NotificationDelivery]]:
    params = _drop_none(
        {"status": status, "all": everyone or None, "limit": limit, "before": before}
    )
    return Call("GET", f"{NOTIFY}/deliveries", parse_json, params=params)


def get_delivery(delivery_id: int) -> Call[NotificationDelivery]:
    return Call("GET", f"{NOTIFY}/deliveries/{_seg(delivery_id)}", parse_json)


def replay_delivery(delivery_id: int) -> Call[NotificationDelivery]:
    return Call("POST", f"{NOTIFY}/deliveries/{_seg(delivery_id)}/replay", parse_json)


# Intake sources ----------------------------------------------------------------


def list_intake_sources() -> Call[list[IntakeSource]]:
    return Call("GET", f"{API}/intake/sources", parse_json)


def create_intake_source(body: dict[str, Any]) -> Call[IntakeSource]:
    return Call("POST", f"{API}/intake/sources", parse_json, json=_drop_none(body))


def get_intake_source(slug: str) -> Call[IntakeSource]:
    return Call("GET", f"{API}/intake/sources/{_seg(slug)}", parse_json)


def delete_intake_source(slug: str) -> Call[None]:
    return Call("DELETE", f"{API}/intake/sources/{_seg(slug)}", parse_nothing)


# Templates and secrets -------------------------------------------------------


def template_source(path_or_text: str | os.PathLike[str]) -> str:
    """Read a template: a path (``Path``, or a string naming a file) or the YAML itself.

    A string that names no file is taken as YAML only if it looks like YAML (it has a
    newline or a colon); otherwise it is a mistyped path, and saying so beats the
    server's complaint about a template that is one word long.
    """
    if isinstance(path_or_text, os.PathLike):
        return Path(path_or_text).read_text()
    if "\n" not in path_or_text and os.path.isfile(path_or_text):
        return Path(path_or_text).read_text()
    if "\n" in path_or_text or ":" in path_or_text:
        return path_or_text
    raise FileNotFoundError(f"No template file '{path_or_text}'.")


def push_template(source: str) -> Call[Template]:
    headers = {"Content-Type": "application/yaml"}
    return Call("POST", f"{API}/templates", parse_json, content=source, headers=headers)


def list_templates() -> Call[list[Template]]:
    return Call("GET", f"{API}/templates", parse_json)


def get_template(name: str, version: int | None) -> Call[Template]:
    params = _drop_none({"version": version})
    return Call("GET", f"{API}/templates/{_seg(name)}", parse_json, params=params)


def template_versions(name: str) -> Call[list[Template]]:
    return Call("GET", f"{API}/templates/{_seg(name)}/versions", parse_json)


def set_secret(name: str, value: str) -> Call[Secret]:
    return Call("PUT", f"{API}/secrets/{_seg(name)}", parse_json, json={"value": value})


def list_secrets() -> Call[list[Secret]]:
    return Call("GET", f"{API}/secrets", parse_json)


def delete_secret(name: str) -> Call[None]:
    return Call("DELETE", f"{API}/secrets/{_seg(name)}", parse_nothing)


# Users and tokens --------------------------------------------------------------


def list_users() -> Call[list[User]]:
    return Call("GET", f"{API}/users", parse_json)


def create_user(username: str, name: str, email: str, admin: bool) -> Call[User]:
    body = {"username": username, "name": name, "email": email, "admin": admin}
    return Call("POST", f"{API}/users", parse_json, json=body)


def get_user(username: str) -> Call[User]:
    return Call("GET", f"{API}/users/{_seg(username)}", parse_json)


def link_identity(username: str, external_id: str, login: str, provider: str) -> Call[Identity]:
    body = {"provider": provider, "external_id": external_id, "login": login}
    return Call("POST", f"{API}/users/{_seg(username)}/identities", parse_json, json=body)


def link_github() -> Call[GitHubLink]:
    return Call("POST", f"{API}/identities/github/link", parse_json)


def find_identity(provider: str, external_id: str) -> Call[Identity]:
    return Call("GET", f"{API}/identities/{_seg(provider)}/{_seg(external_id)}", parse_json)


def create_token(name: str, scopes: Sequence[str] | None, user: str | None) -> Call[Token]:
    body = _drop_none(
        {"name": name, "scopes": list(scopes) if scopes is not None else None, "user": user}
    )
    return Call("POST", f"{API}/tokens", parse_json, json=body)


def list_tokens() -> Call[list[Token]]:
    return Call("GET", f"{API}/tokens", parse_json)


def revoke_token(token_id: int) -> Call[None]:
    return Call("DELETE", f"{API}/tokens/{_seg(token_id)}", parse_nothing)


# Organizations (the installation admin's) ----------------------------------------


def list_organizations() -> Call[list[Organization]]:
    return Call("GET", f"{API}/organizations", parse_json)


def create_organization(
    slug: str, name: str, admin: str, team: str, repository_owners: Sequence[str]
) -> Call[NewOrganization]:
    body = {
        "slug": slug,
        "name": name,
        "admin": admin,
        "team": team,
        "repository_owners": list(repository_owners),
    }
    return Call("POST", f"{API}/organizations", parse_json, json=body)


def update_organization(slug: str, **fields: Any) -> Call[Organization]:
    return Call("PATCH", f"{API}/organizations/{_seg(slug)}", parse_json, json=fields)
