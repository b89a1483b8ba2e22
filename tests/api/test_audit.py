"""The audit log: who did what, in order, for the organization's admins only."""

from __future__ import annotations

import httpx

from tests.api.conftest import token_with

TEMPLATE = "name: t1\nsandbox: bubblewrap\nagent: {kind: command, command: 'true'}\n"


def test_changes_are_logged_with_who_made_them_and_no_secret_value(
    api: httpx.Client, other_org_token: str
) -> None:
    secret_value = "s3cr3t-audited-value"
    assert api.put("/api/v1/secrets/NPM_TOKEN", json={"value": secret_value}).status_code == 200
    assert api.post("/api/v1/templates", content=TEMPLATE).status_code == 201
    reader = api.post("/api/v1/tokens", json={"name": "ci", "scopes": ["tasks:read"]})
    assert reader.status_code == 201
    assert api.delete(f"/api/v1/tokens/{reader.json()['id']}").status_code == 204
    task = api.post("/api/v1/tasks", json={"title": "t", "repository": "acme/shop", "run": False})
    assert task.status_code == 201, task.text
    key = task.json()["key"]
    assert api.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
    assert api.delete("/api/v1/secrets/NPM_TOKEN").status_code == 204

    page = api.get("/api/v1/audit")
    assert page.status_code == 200, page.text
    entries = page.json()["items"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("secret.set", "NPM_TOKEN"),
        ("template.pushed", "t1"),
        ("token.created", "ci"),
        ("token.revoked", "ci"),
        ("task.created", key),
        ("task.cancelled", key),
        ("secret.deleted", "NPM_TOKEN"),
    ]
    assert {e["actor"] for e in entries} == {"admin"}
    assert entries[2]["detail"]["scopes"] == ["tasks:read"]
    assert secret_value not in page.text

    # Paged and filtered.
    after = entries[3]["id"]
    rest = api.get("/api/v1/audit", params={"after": after, "action": "task.cancelled"}).json()
    assert [e["target"] for e in rest["items"]] == [key]

    # Admins only; another organization sees none of it.
    reader_token = token_with(api, "tasks:read", "tokens:read")
    denied = api.get("/api/v1/audit", headers={"Authorization": f"Bearer {reader_token}"})
    assert denied.status_code == 403
    rival = api.get("/api/v1/audit", headers={"Authorization": f"Bearer {other_org_token}"})
    assert rival.status_code == 200 and rival.json()["items"] == []
