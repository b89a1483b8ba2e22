"""The notifications API: one's own channels and deliveries only, secrets never shown,
bad input refused with what to fix."""

from __future__ import annotations

import httpx

from taskyard.config import Settings
from taskyard.model.status import TaskStatus
from taskyard.notify.webhook import new_secret
from tests.api.conftest import api, api_settings, other_org_token, token_with
from tests.notify.conftest import add_webhook, change_status, new_task, send_all
from tests.notify.receiver import receiver

__all__ = ["api", "api_settings", "other_org_token"]

CHANNELS = "/api/v1/notifications/channels"
DELIVERIES = "/api/v1/notifications/deliveries"


def as_user(api: httpx.Client, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=str(api.base_url), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_channels_secret_is_never_shown(api: httpx.Client) -> None:
    secret = new_secret()
    url = "https://hooks.example/in?token=abc123"
    body = {"kind": "webhook", "name": "ci", "config": {"url": url, "secret": secret}}
    created = api.post(CHANNELS, json=body)
    assert created.status_code == 201, created.text
    shown = created.text + api.get(CHANNELS).text
    assert secret not in shown and "abc123" not in shown
    assert created.json()["summary"] == "https://hooks.example"
    changed = api.patch(f"{CHANNELS}/{created.json()['id']}", json={"enabled": False})
    assert changed.status_code == 200 and changed.json()["enabled"] is False


def test_bad_channels_and_preferences_are_refused_with_what_to_fix(api: httpx.Client) -> None:
    good = {"url": "https://hooks.example/x", "secret": new_secret()}
    cases = [
        ({"kind": "pager", "name": "p", "config": good}, 400, "Available: email, slack, webhook"),
        ({"kind": "webhook", "name": "w", "config": {"url": good["url"]}}, 400, "secret"),
        ({"kind": "webhook", "name": "w", "config": {**good, "secret": "hunter2"}}, 400, "whsec_"),
        ({"kind": "webhook", "name": "w", "config": {**good, "url": "ftp://x"}}, 400, "http(s)"),
        (
            {"kind": "webhook", "name": "w", "config": {**good, "url": "https://u:p@h.example/"}},
            400,
            "user name or password",
        ),
        (
            {"kind": "webhook", "name": "w", "config": {**good, "x": "y" * 2001}},
            400,
            "at most 2000",
        ),
    ]
    for body, status, says in cases:
        response = api.post(CHANNELS, json=body)
        assert response.status_code == status, (body, response.text)
        assert says in response.text
    assert (
        api.post(CHANNELS, json={"kind": "webhook", "name": "w", "config": good}).status_code == 201
    )
    again = api.post(CHANNELS, json={"kind": "webhook", "name": "w", "config": good})
    assert again.status_code == 409
    for preferences, says in (
        ([{"event": "task.exploded"}], "Unknown event"),
        ([{"event": "task.failed", "channels": ["nope"]}], "no channel named nope"),
        ([{"event": "task.failed"}, {"event": "task.failed"}], "twice"),
    ):
        response = api.put("/api/v1/notifications/preferences", json={"preferences": preferences})
        assert response.status_code == 400 and says in response.text, response.text
    assert api.get(DELIVERIES, params={"status": "odd"}).status_code == 400
    assert api.get(f"{CHANNELS}/99").status_code == 405
    assert api.delete(f"{CHANNELS}/99").status_code == 404


def test_people_see_only_their_own_and_organizations_are_apart(
    api: httpx.Client, api_settings: Settings, other_org_token: str
) -> None:
    assert api.post("/api/v1/users", json={"username": "bob"}).status_code == 201
    with (
        as_user(api, token_with(api, "tasks:read", "tasks:write", user="bob")) as bob,
        as_user(api, other_org_token) as rival,
        receiver() as hook,
    ):
        channel, _ = add_webhook(api, "mine", hook.url)
        task = new_task(api)
        change_status(api_settings, task["id"], TaskStatus.FAILED, "no")
        send_all(api_settings)
        seen_by(api, bob, rival, channel)


def seen_by(api: httpx.Client, bob: httpx.Client, rival: httpx.Client, channel: int) -> None:
    (delivery,) = api.get(DELIVERIES).json()
    for other in (bob, rival):
        assert other.get(CHANNELS).json() == []
        assert other.get(DELIVERIES).json() == []
        assert other.get(f"{DELIVERIES}/{delivery['id']}").status_code == 404
        assert other.post(f"{DELIVERIES}/{delivery['id']}/replay").status_code == 404
        assert other.patch(f"{CHANNELS}/{channel}", json={"enabled": False}).status_code == 404
        assert other.delete(f"{CHANNELS}/{channel}").status_code == 404
    assert bob.get(DELIVERIES, params={"all": "true"}).status_code == 403
    assert [d["id"] for d in api.get(DELIVERIES, params={"all": "true"}).json()] == [delivery["id"]]
    assert rival.get(DELIVERIES, params={"all": "true"}).json() == []
    assert rival.get("/api/v1/notifications/teams/TY").status_code == 404
