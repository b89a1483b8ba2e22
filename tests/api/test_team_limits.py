"""A team's limit on agent runs at once: set by its organization's admins, audited."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import token_with


def test_an_admin_sets_and_clears_a_teams_limit(api: httpx.Client) -> None:
    shown = api.get("/api/v1/teams/TY").json()
    assert (shown["max_running"], shown["limit"], shown["running"], shown["queued"]) == (
        None,
        0,
        0,
        0,
    )
    changed = api.patch("/api/v1/teams/ty", json={"max_running": 3})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["max_running"], changed.json()["limit"]) == (3, 3)
    assert api.get("/api/v1/teams").json()[0]["limit"] == 3

    cleared = api.patch("/api/v1/teams/TY", json={"max_running": None}).json()
    assert (cleared["max_running"], cleared["limit"]) == (None, 0)
    entries = api.get("/api/v1/audit", params={"action": "team.limit_set"}).json()["items"]
    assert [(e["target"], e["detail"]) for e in entries] == [
        ("TY", {"max_running": 3, "before": None}),
        ("TY", {"max_running": None, "before": 3}),
    ]


@pytest.mark.parametrize(
    "body",
    [{"max_running": -1}, {"max_running": 10_001}, {"max_running": "many"}, {}, {"limit": 2}],
)
def test_a_bad_limit_is_refused_with_what_to_fix(api: httpx.Client, body: object) -> None:
    response = api.patch("/api/v1/teams/TY", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
    assert api.get("/api/v1/teams/TY").json()["max_running"] is None


def test_only_admins_change_it_and_other_organizations_never_see_the_team(
    api: httpx.Client, other_org_token: str
) -> None:
    reader = {"Authorization": f"Bearer {token_with(api, 'tasks:read', 'tasks:write')}"}
    assert api.get("/api/v1/teams/TY", headers=reader).status_code == 200
    denied = api.patch("/api/v1/teams/TY", json={"max_running": 1}, headers=reader)
    assert denied.status_code == 403

    rival = {"Authorization": f"Bearer {other_org_token}"}
    assert api.get("/api/v1/teams/TY", headers=rival).status_code == 404
    assert api.patch("/api/v1/teams/TY", json={"max_running": 1}, headers=rival).status_code == 404
    assert [t["key"] for t in api.get("/api/v1/teams", headers=rival).json()] == ["RV"]
    assert api.get("/api/v1/teams/TY").json()["max_running"] is None
    assert api.get("/api/v1/teams/NOPE").status_code == 404
