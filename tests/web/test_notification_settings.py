"""``/settings/notifications``: one's channels (configuration in, never out) and the events
one hears of, over the same services as ``/api/v1/notifications``."""

from __future__ import annotations

import base64
import html

from tests.web import visitors
from tests.web.visitors import Site

site = visitors.site  # the fixture
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_channels_are_added_switched_and_removed_without_showing_their_secrets(
    site: Site,
) -> None:
    admin = site.visitor()
    page = admin.get("/settings/notifications")
    assert page.status_code == 200 and "No channels yet" in page.text
    added = admin.post(
        "/settings/notifications/channels",
        {"kind": "webhook", "name": "ops", "url": "https://hooks.example/ty", "secret": SECRET},
    )
    assert added.status_code == 303
    shown = admin.get(added.headers["location"]).text
    assert "Added channel ops." in shown and "https://hooks.example" in shown
    assert SECRET not in shown and "/ty" not in shown
    [channel] = site.api.get("/api/v1/notifications/channels").json()
    assert channel["enabled"] is True

    off = admin.post(f"/settings/notifications/channels/{channel['id']}", {"enabled": "false"})
    assert off.status_code == 303
    assert site.api.get("/api/v1/notifications/channels").json()[0]["enabled"] is False
    assert "Turn on" in admin.get("/settings/notifications").text

    missing = admin.post(
        "/settings/notifications/channels", {"kind": "webhook", "name": "half", "secret": SECRET}
    )
    assert missing.status_code == 400 and "needs: url" in missing.text
    assert 'value="half"' in missing.text and SECRET not in missing.text
    unknown = admin.post("/settings/notifications/channels", {"kind": "pigeon", "name": "p"})
    assert unknown.status_code == 400 and "pigeon" in html.unescape(unknown.text)

    rival = site.visitor(site.person("eve", ["admin"], org="rival"))
    assert "ops" not in rival.get("/settings/notifications").text.split("<h2>What")[0]
    refused = rival.post(f"/settings/notifications/channels/{channel['id']}/delete")
    assert refused.status_code == 404
    removed = admin.post(f"/settings/notifications/channels/{channel['id']}/delete")
    assert removed.status_code == 303
    assert site.api.get("/api/v1/notifications/channels").json() == []


def test_choosing_which_events_reach_which_channels(site: Site) -> None:
    admin = site.visitor()
    for name in ("mail", "pager"):
        admin.post(
            "/settings/notifications/channels",
            {"kind": "email", "name": name, "address": f"{name}@example.org"},
        )
    saved = admin.post(
        "/settings/notifications/preferences",
        {
            "event:task.created": "on",
            "channel:task.created:pager": "on",
            "event:task.failed": "off",
            "event:task.waiting": "default",
        },
    )
    assert saved.status_code == 303
    chosen = site.api.get("/api/v1/notifications/preferences").json()
    mine = {p["event"]: p for p in chosen["preferences"]}
    assert mine["task.created"]["enabled"] and mine["task.created"]["channels"] == ["pager"]
    assert mine["task.failed"]["enabled"] is False and "task.waiting" not in mine
    page = admin.get("/settings/notifications").text
    assert 'name="channel:task.created:pager" checked' in page
    assert '<option value="off" selected>off</option>' in page
