"""Two organizations created through the API see nothing of each other, on every route.

The routes come from the OpenAPI description, so a new route is covered as soon as it
exists: the intruder calls it with the victim's identifiers in every path parameter,
and must neither read the victim's data nor change any of it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from taskyard.api.app import create_app
from taskyard.config import Settings
from tests.api.conftest import minimal_body

MARK = "southmark"  # in everything the victim owns that has a name or a text
FILLER = "northval"  # what the intruder writes
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in create_app(Settings()).openapi()["paths"].items()
    for method, operation in item.items()
]
TEMPLATE = f"name: {MARK}-tpl\ndescription: {MARK}\n"


class Org:
    def __init__(self, api: httpx.Client, token: str) -> None:
        self.api = api
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.api.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def snapshot(self) -> dict[str, Any]:
        """Everything the organization can see of itself."""
        reads = ["/api/v1/tasks", "/api/v1/templates", "/api/v1/secrets", "/api/v1/users"]
        reads += ["/api/v1/tokens", "/api/v1/teams", "/api/v1/workflows?archived=true"]
        reads += ["/api/v1/forges", "/api/v1/github/triggers"]
        reads += ["/api/v1/notifications/channels", "/api/v1/notifications/preferences"]
        reads += ["/api/v1/notifications/deliveries?all=true", "/api/v1/notifications/teams/SO"]
        seen = {path: self.ok("GET", path) for path in reads}
        key = seen["/api/v1/tasks"]["items"][0]["key"]
        seen["task"] = self.ok("GET", f"/api/v1/tasks/{key}")
        seen["events"] = self.ok("GET", f"/api/v1/tasks/{key}/events")
        return seen


def organization(api: httpx.Client, slug: str, team: str) -> Org:
    created = api.post(
        "/api/v1/organizations",
        json={"slug": slug, "admin": f"{slug}-admin", "team": team, "repository_owners": ["*"]},
    )
    assert created.status_code == 201, created.text
    return Org(api, created.json()["token"])


def populate(org: Org) -> dict[str, str]:
    """One of everything, named with ``MARK``; returns a value for each path parameter."""
    task = org.ok(
        "POST",
        "/api/v1/tasks",
        json={"title": MARK, "description": MARK, "repository": "a/b", "run": False},
    )
    org.ok(
        "POST",
        "/api/v1/templates",
        content=TEMPLATE,
        headers={"Content-Type": "application/yaml"},
    )
    org.ok("PUT", "/api/v1/secrets/SOUTHMARK", json={"value": MARK})
    org.ok("POST", "/api/v1/users", json={"username": f"{MARK}-user", "name": MARK})
    org.ok(
        "POST", f"/api/v1/users/{MARK}-user/identities", json={"external_id": "77", "login": MARK}
    )
    token = org.ok("POST", "/api/v1/tokens", json={"name": MARK, "scopes": ["tasks:read"]})
    stages = [{"key": "code", "name": MARK}]
    org.ok("POST", "/api/v1/workflows", json={"name": f"{MARK}-flow", "stages": stages})
    forge = {"kind": "github", "url": f"https://{MARK}.example.com"}
    org.ok("PUT", "/api/v1/forges/repositories/a/b", json=forge)
    trigger = org.ok("POST", "/api/v1/github/triggers", json={
        "repository": "a/b", "kind": "label", "value": MARK, "prompt": MARK,
    })  # fmt: skip
    secret = "whsec_" + "c291dGhtYXJrLXNpZ25pbmcta2V5"
    channel = org.ok("POST", "/api/v1/notifications/channels", json={
        "kind": "webhook", "name": MARK, "config": {"url": "https://a.example", "secret": secret},
    })  # fmt: skip
    chosen = {"preferences": [{"event": "task.created", "channels": [MARK]}]}
    org.ok("PUT", "/api/v1/notifications/preferences", json=chosen)
    org.ok("PUT", "/api/v1/notifications/teams/SO", json=chosen)
    org.ok("POST", "/api/v1/tasks", json={"title": MARK, "repository": "a/b", "run": False})
    (delivery,) = org.ok("GET", "/api/v1/notifications/deliveries")
    return {
        "trigger_id": str(trigger["id"]),
        "channel_id": str(channel["id"]),
        "delivery_id": str(delivery["id"]),
        "ref": task["key"],
        "name": f"{MARK}-tpl",
        "username": f"{MARK}-user",
        "token_id": str(token["id"]),
        "slug": "south",
        "id": str(task["id"]),
        "owner": "a",
        "repo": "b",
        "team": "SO",
        "provider": "github",
        "external_id": "77",
    }


# Which of the victim's names a parameter can hold, beyond the defaults above.
ALTERNATIVES = {
    "ref": lambda ids: [ids["ref"], ids["id"]],
    "name": lambda ids: [ids["name"], f"{MARK}-flow", "SOUTHMARK"],
    "team": lambda ids: [ids["team"], ids["team"].lower()],  # its key, and its slug
}


def fill(path: str, operation: dict[str, Any], ids: dict[str, str]) -> list[str]:
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{path}: add a value for {unknown} to populate()"
    paths = [path]
    for name in names:
        values = ALTERNATIVES.get(name, lambda ids, n=name: [ids[n]])(ids)
        paths = [p.replace("{" + name + "}", v) for p in paths for v in values]
    return paths


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The victim's forge site is one the operator allows (TASKYARD_FORGE_ORIGINS)."""
    return api_settings.model_copy(update={"forge_origins": f"https://{MARK}.example.com"})


@pytest.fixture
def south_and_north(api: httpx.Client) -> tuple[Org, Org, dict[str, str]]:
    south = organization(api, "south", "SO")
    north = organization(api, "north", "NO")
    return south, north, populate(south)


def test_every_route_keeps_organizations_apart(
    south_and_north: tuple[Org, Org, dict[str, str]],
) -> None:
    south, north, ids = south_and_north
    before = south.snapshot()
    components = north.api.get("/openapi.json").json()["components"]["schemas"]
    probed = 0
    for method, template, operation in OPERATIONS:
        body = minimal_body(operation, components, FILLER)
        for path in fill(template, operation, ids):
            kwargs: dict[str, Any] = {"params": {"team": "SO"}}
            if "requestBody" in operation:
                kwargs["json"] = body
            response = north.call(method, path, **kwargs)
            probed += 1
            assert response.status_code < 500, (method, path, response.text)
            # The intruder's own echo of the names it sent is no leak.
            seen = response.text.lower()
            for value in path.split("/"):
                seen = seen.replace(value.lower(), "")
            if path == "/api/v1/audit":
                # Its own log echoes the names of earlier calls; checked below instead.
                seen = ""
            assert MARK not in seen, (method, path, response.text)
            if method == "GET" and "{" in template:
                assert response.status_code in (403, 404), (method, path, response.status_code)
    assert probed >= len(OPERATIONS)
    assert south.snapshot() == before
    assert "taskyard_events_total 0" in north.call("GET", "/metrics").text
    # The north's audit log holds what the north did, and nothing the south did.
    south_log = south.ok("GET", "/api/v1/audit")["items"]
    north_log = north.ok("GET", "/api/v1/audit")["items"]
    assert {e["actor"] for e in north_log} == {"north-admin"}
    assert south_log and not {e["id"] for e in south_log} & {e["id"] for e in north_log}
