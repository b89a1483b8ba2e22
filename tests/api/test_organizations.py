"""Organizations made by the installation admin: through the API, the SDK and the CLI."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from taskyard.cli.main import cli
from tests.api.conftest import token_with
from tests.conftest import ADMIN_TOKEN


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_org(api: httpx.Client, slug: str, **body: object) -> dict[str, object]:
    response = api.post("/api/v1/organizations", json={"slug": slug, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_installation_admin_creates_lists_and_renames_organizations(
    api: httpx.Client,
) -> None:
    created = new_org(
        api, "acme", name="Acme Inc", admin="alice", team="AC", repository_owners=["A"]
    )
    assert created["admin"] == "alice" and created["team"] == "AC"
    token = str(created["token"])
    as_alice = bearer(token)
    assert api.get("/api/v1/users", headers=as_alice).json()[0]["username"] == "alice"
    assert [t["key"] for t in api.get("/api/v1/teams", headers=as_alice).json()] == ["AC"]
    task = api.post(
        "/api/v1/tasks", json={"title": "t", "repository": "a/b", "run": False}, headers=as_alice
    )
    assert task.status_code == 201 and task.json()["key"] == "AC-1"

    slugs = [o["slug"] for o in api.get("/api/v1/organizations").json()]
    assert slugs == ["default", "acme"]
    renamed = api.patch("/api/v1/organizations/acme", json={"name": "Acme Corp"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Corp"
    assert renamed.json()["users"] == 1 and renamed.json()["created_at"].endswith("Z")
    assert renamed.json()["repository_owners"] == ["a"]  # owners compare as forges do
    logged = [
        (a["action"], a["target"], a["detail"])
        for a in api.get("/api/v1/audit").json()["items"]
        if a["action"].startswith("organization.")
    ]
    assert logged == [
        ("organization.created", "acme", {"admin": "alice", "repository_owners": ["a"]}),
        ("organization.renamed", "acme", {"name": "Acme Corp"}),
    ]

    again = api.post("/api/v1/organizations", json={"slug": "acme"})
    assert again.status_code == 409
    assert api.patch("/api/v1/organizations/nope", json={"name": "x"}).status_code == 404
    assert api.patch("/api/v1/organizations/acme", json={"name": ""}).status_code == 400


def test_organization_admins_are_not_installation_admins(api: httpx.Client) -> None:
    alice = bearer(str(new_org(api, "acme", admin="alice")["token"]))
    local_admin = bearer(token_with(api, "admin"))
    for headers in (alice, local_admin):
        assert api.get("/api/v1/organizations", headers=headers).status_code == 403
        assert (
            api.post("/api/v1/organizations", json={"slug": "x"}, headers=headers).status_code
            == 403
        )
        assert (
            api.patch(
                "/api/v1/organizations/default", json={"name": "x"}, headers=headers
            ).status_code
            == 403
        )
    # Nor can they grant themselves the scope.
    response = api.post(
        "/api/v1/tokens", json={"name": "up", "scopes": ["installation:admin"]}, headers=alice
    )
    assert response.status_code == 403


def test_github_identities_are_per_organization(api: httpx.Client) -> None:
    alice = bearer(str(new_org(api, "acme", admin="alice")["token"]))
    body = {"external_id": "4242", "login": "octo"}
    assert api.post("/api/v1/users/admin/identities", json=body).status_code == 201
    # Another organization linking the same account learns nothing of the first.
    assert api.post("/api/v1/users/alice/identities", json=body, headers=alice).status_code == 201
    assert api.post("/api/v1/users/alice/identities", json=body, headers=alice).status_code == 409
    # Each organization finds its own user behind the account.
    found = api.get("/api/v1/identities/github/4242")
    assert found.json() == {
        "user": "admin",
        "provider": "github",
        "external_id": "4242",
        "login": "octo",
    }
    assert api.get("/api/v1/identities/github/4242", headers=alice).json()["user"] == "alice"
    missing = api.get("/api/v1/identities/github/5")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == (
        "No taskyard user is linked to github user ID 5: an admin links it with "
        "`taskyard users link <username> --github-id 5`."
    )


def test_metrics_need_a_token_and_count_only_the_callers_organization(api: httpx.Client) -> None:
    alice = bearer(str(new_org(api, "acme", admin="alice")["token"]))
    api.post("/api/v1/tasks", json={"title": "t", "repository": "a/b", "run": False})
    assert httpx.get(f"{api.base_url}/metrics").status_code == 401
    mine = api.get("/metrics").text
    theirs = api.get("/metrics", headers=alice).text
    assert 'taskyard_tasks{status="queued"} 1' in mine and "taskyard_events_total 2" in mine
    assert "taskyard_tasks{" not in theirs and "taskyard_events_total 0" in theirs


def test_orgs_from_the_cli(api: httpx.Client) -> None:
    env = {"TASKYARD_URL": str(api.base_url), "TASKYARD_TOKEN": ADMIN_TOKEN}

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["orgs", *args], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    token = run("create", "acme", "--name", "Acme", "--admin", "alice", "--team", "AC").strip()
    assert token.startswith("ty_")
    assert api.get("/api/v1/users", headers=bearer(token)).json()[0]["username"] == "alice"
    run("rename", "acme", "Acme Corp")
    listing = run("list")
    assert "acme" in listing and "Acme Corp" in listing


def test_an_organization_works_only_on_the_repositories_of_owners_granted_to_it(
    api: httpx.Client,
) -> None:
    """The server's forge credentials are shared: an organization of a server with several
    names no repository of an owner the installation admin did not grant it."""
    alice = bearer(str(new_org(api, "acme", admin="alice")["token"]))
    assert api.get("/api/v1/organizations/acme").json()["repository_owners"] == []

    def create(repository: str) -> httpx.Response:
        body = {"title": "t", "repository": repository, "run": False}
        return api.post("/api/v1/tasks", json=body, headers=alice)

    def trigger(repository: str) -> httpx.Response:
        body = {"repository": repository, "kind": "label", "value": "go"}
        return api.post("/api/v1/github/triggers", json=body, headers=alice)

    def schedule(repository: str) -> httpx.Response:
        task = {"title": "t", "repository": repository}
        body = {"name": "nightly", "cron": "0 3 * * *", "task": task}
        return api.post("/api/v1/schedules", json=body, headers=alice)

    def source(repository: str) -> httpx.Response:
        body = {"kind": "sentry", "name": "errors", "repository": repository}
        return api.post("/api/v1/intake/sources", json=body, headers=alice)

    named = [create, trigger, schedule, source]
    for refused in (name("default-org/shop") for name in named):
        assert refused.status_code == 403, refused.text
        message = refused.json()["error"]["message"]
        assert "'default-org'" in message and "set-owners" in message
    granted = api.patch("/api/v1/organizations/acme", json={"repository_owners": ["Acme"]})
    assert granted.status_code == 200 and granted.json()["repository_owners"] == ["acme"]
    assert create("ACME/shop").status_code == 201 and trigger("acme/shop").status_code == 201
    assert create("acme-labs/shop").status_code == 403  # an owner, not a prefix
    assert create("default-org/shop").status_code == 403
    assert api.get("/api/v1/organizations/default").json()["repository_owners"] == ["*"]
    assert (
        api.post(  # the first organization keeps every owner
            "/api/v1/tasks", json={"title": "t", "repository": "any/one", "run": False}
        ).status_code
        == 201
    )

    too_long = [f"{n:03}" + "x" * 97 for n in range(41)]  # 41 x 100 characters: over 4,000
    for wrong in (["-x"], ["a/b"], ["a b"], ["x" * 101], ["a"] * 201, too_long):
        response = api.patch("/api/v1/organizations/acme", json={"repository_owners": wrong})
        assert response.status_code in (400, 422), response.text
    # An organization's own admin cannot grant itself owners.
    grant = {"repository_owners": ["*"]}
    refused = api.patch("/api/v1/organizations/acme", json=grant, headers=alice)
    assert refused.status_code == 403
    everything = api.patch("/api/v1/organizations/acme", json={"repository_owners": ["x", "*"]})
    assert everything.json()["repository_owners"] == ["*"]
    audit = api.get("/api/v1/audit", params={"action": "organization.owners_set"}).json()["items"]
    assert [a["detail"]["repository_owners"] for a in audit] == [["acme"], ["*"]]


def test_owners_through_the_cli(api: httpx.Client) -> None:
    env = {"TASKYARD_URL": str(api.base_url), "TASKYARD_TOKEN": ADMIN_TOKEN}
    made = CliRunner().invoke(cli, ["orgs", "create", "acme", "--owner", "acme"], env=env)
    assert made.exit_code == 0, made.output
    changed = CliRunner().invoke(cli, ["orgs", "set-owners", "acme", "acme", "acme-labs"], env=env)
    assert changed.exit_code == 0 and "acme,acme-labs" in changed.stdout
    listed = CliRunner().invoke(cli, ["orgs", "list"], env=env)
    assert "(none)" not in listed.stdout.split("acme", 1)[1] and "*" in listed.stdout
