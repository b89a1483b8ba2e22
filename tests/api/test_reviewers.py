"""A task's reviewers: named at creation or replaced later, only people of the task's
organization, each change on the task's record and in the audit log."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import api, api_settings, other_org_token

__all__ = ["api", "api_settings", "other_org_token"]

TASKS = "/api/v1/tasks"


def _users(api: httpx.Client, *names: str) -> None:
    for name in names:
        response = api.post("/api/v1/users", json={"username": name})
        assert response.status_code == 201, response.text


def _create(api: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"title": "Fix login", "repository": "acme/shop", "run": False, **fields}
    return api.post(TASKS, json=body)


def _kinds(api: httpx.Client, key: str, kind: str) -> list[dict[str, Any]]:
    items = api.get(f"{TASKS}/{key}/events", params={"kind": kind}).json()["items"]
    return [e["data"] for e in items]


def test_a_task_is_created_with_its_reviewers_folded_and_sorted(api: httpx.Client) -> None:
    _users(api, "bob", "cy")
    created = _create(api, reviewers=["cy", "bob", "cy"])
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert created.json()["reviewers"] == ["bob", "cy"]
    assert api.get(f"{TASKS}/{key}").json()["reviewers"] == ["bob", "cy"]
    assert _create(api).json()["reviewers"] == []
    listed = {t["key"]: t["reviewers"] for t in api.get(TASKS).json()["items"]}
    assert listed == {key: ["bob", "cy"], "TY-2": []}
    (made,) = _kinds(api, key, "created")
    assert made["reviewers"] == ["bob", "cy"]
    # Folded before they are counted: many mentions of one person are one reviewer.
    assert _create(api, reviewers=["bob"] * 25).json()["reviewers"] == ["bob"]


def test_unknown_blank_and_too_many_reviewers_are_refused_and_no_task_is_made(
    api: httpx.Client,
) -> None:
    _users(api, "bob")
    unknown = _create(api, reviewers=["bob", "zed", "yan"])
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["error"] == {
        "code": "invalid",
        "message": "Reviewers 'zed', 'yan' are not users of this organization.",
        "details": {"unknown": ["zed", "yan"]},
    }
    one = _create(api, reviewers=["zed"])
    assert one.json()["error"]["message"] == "Reviewer 'zed' is not a user of this organization."
    many = _create(api, reviewers=[f"user{n}" for n in range(21)])
    assert many.status_code == 400
    said = many.json()["error"]["message"]
    assert said == "reviewers: Value error, at most 20 reviewers, 21 given"
    for bad in ([""], ["  "], "bob", [7], ["x" * 101]):
        response = _create(api, reviewers=bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]["code"] == "invalid"
    assert api.get(TASKS).json()["items"] == []
    assert api.get("/api/v1/audit").json()["items"][-1]["action"] == "user.created"


def test_only_people_of_the_tasks_organization_can_review_it(
    api: httpx.Client, other_org_token: str
) -> None:
    _users(api, "bob")
    refused = _create(api, reviewers=["eve"])  # eve is the other organization's
    assert refused.status_code == 400 and "'eve'" in refused.json()["error"]["message"]
    with httpx.Client(
        timeout=30,
        base_url=str(api.base_url),
        headers={"Authorization": f"Bearer {other_org_token}"},
    ) as rival:
        body = {"title": "t", "repository": "acme/shop", "run": False, "reviewers": ["bob"]}
        theirs = rival.post(TASKS, json=body)
        assert theirs.status_code == 400 and "'bob'" in theirs.text
        key = _create(api, reviewers=["bob"]).json()["key"]
        own = rival.post(TASKS, json={**body, "reviewers": ["eve"]})
        assert own.status_code == 201 and own.json()["reviewers"] == ["eve"]
        # Another organization's task is not found, whoever it would name.
        for ref in (key, str(api.get(f"{TASKS}/{key}").json()["id"])):
            response = rival.put(f"{TASKS}/{ref}/reviewers", json={"reviewers": ["eve"]})
            assert response.status_code == 404, response.text
    assert api.get(f"{TASKS}/{key}").json()["reviewers"] == ["bob"]


def test_put_replaces_the_reviewers_and_records_each_change(api: httpx.Client) -> None:
    _users(api, "bob", "cy", "dee")
    key = _create(api, reviewers=["bob", "cy"]).json()["key"]
    path = f"{TASKS}/{key}/reviewers"

    changed = api.put(path, json={"reviewers": ["dee", "cy"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["key"] == key and changed.json()["reviewers"] == ["cy", "dee"]
    assert api.put(path, json={"reviewers": ["cy", "dee", "cy"]}).status_code == 200  # no change
    bad = api.put(path, json={"reviewers": ["cy", "zed"]})
    assert bad.status_code == 400 and "'zed'" in bad.json()["error"]["message"]
    assert api.put(path, json={"reviewers": ["x"], "extra": 1}).status_code == 400
    assert api.put(path, json={}).status_code == 400
    assert api.put(f"{TASKS}/TY-99/reviewers", json={"reviewers": []}).status_code == 404
    assert api.get(f"{TASKS}/{key}").json()["reviewers"] == ["cy", "dee"]
    cleared = api.put(path, json={"reviewers": []})
    assert cleared.status_code == 200 and cleared.json()["reviewers"] == []

    assert _kinds(api, key, "reviewers") == [
        {"reviewers": ["cy", "dee"], "added": ["dee"], "removed": ["bob"], "by": "admin"},
        {"reviewers": [], "added": [], "removed": ["cy", "dee"], "by": "admin"},
    ]
    audited = api.get("/api/v1/audit", params={"action": "task.reviewers_set"}).json()["items"]
    assert [(e["target"], e["detail"]["reviewers"]) for e in audited] == [
        (key, ["cy", "dee"]),
        (key, []),
    ]
