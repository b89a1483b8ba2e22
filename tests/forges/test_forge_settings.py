"""Which forge a repository is on: the organization's default, a repository's own,
local paths on the local forge; set through the API, recorded on each task."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.model.forge import ForgeSite
from taskyard.services import forge_settings
from tests.api.conftest import other_org_token, token_with

__all__ = ["other_org_token"]  # the fixture: a second organization (2)

GHE = {
    "kind": "github",
    "url": "https://git.example.com",
    "api_url": "https://git.example.com/api/v3",
}


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """An operator who lets organizations use a GitHub Enterprise Server and a loopback
    site (TASKYARD_FORGE_ORIGINS)."""
    origins = "https://git.example.com,http://127.0.0.1:9"
    return api_settings.model_copy(update={"forge_origins": origins})


def forge_of(settings: Settings, key: str) -> ForgeSite:
    with session_scope(settings.resolved_database_url) as session:
        task = session.query(Task).filter_by(key=key).one()
        return task.forge_site


def new_task(api: httpx.Client, repository: str) -> str:
    body = {"title": "t", "repository": repository, "run": False}
    response = api.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def test_github_at_github_com_until_configured(api: httpx.Client) -> None:
    shown = api.get("/api/v1/forges").json()
    assert shown["default"] == {"kind": "github", "url": "", "api_url": ""}
    assert shown["repositories"] == [] and {"github", "local"} <= set(shown["kinds"])


def test_default_override_and_local_paths_decide_each_tasks_forge(
    api: httpx.Client, api_settings: Settings, remote_repo: Path
) -> None:
    assert new_task(api, "acme/shop") == "TY-1"
    assert forge_of(api_settings, "TY-1") == ForgeSite("github")

    response = api.put("/api/v1/forges/default", json=GHE)
    assert response.status_code == 200 and response.json() == GHE
    new_task(api, "acme/shop")
    assert forge_of(api_settings, "TY-2") == ForgeSite(**GHE)
    assert forge_of(api_settings, "TY-1") == ForgeSite("github")  # a task keeps its forge

    own = {"kind": "github", "url": "http://127.0.0.1:9", "api_url": ""}
    response = api.put("/api/v1/forges/repositories/acme/tools", json=own)
    assert response.status_code == 200 and response.json() == {"repository": "acme/tools", **own}
    new_task(api, "acme/tools")
    new_task(api, "acme/shop")
    assert forge_of(api_settings, "TY-3") == ForgeSite(**own)
    assert forge_of(api_settings, "TY-4") == ForgeSite(**GHE)
    assert api.get("/api/v1/forges").json()["repositories"] == [{"repository": "acme/tools", **own}]

    new_task(api, str(remote_repo))  # a path under the local roots: the local forge
    new_task(api, f"file://{remote_repo}")
    assert forge_of(api_settings, "TY-5") == forge_of(api_settings, "TY-6") == ForgeSite("local")

    assert api.delete("/api/v1/forges/repositories/acme/tools").status_code == 204
    new_task(api, "acme/tools")
    assert forge_of(api_settings, "TY-7") == ForgeSite(**GHE)
    assert api.delete("/api/v1/forges/repositories/acme/tools").status_code == 404


def test_organizations_configure_their_own_forges(
    api: httpx.Client, api_settings: Settings, other_org_token: str
) -> None:
    assert api.put("/api/v1/forges/default", json=GHE).status_code == 200
    with session_scope(api_settings.resolved_database_url) as session:
        assert forge_settings.site_for(session, 1, "acme/shop") == ForgeSite(**GHE)
        assert forge_settings.site_for(session, 2, "acme/shop") == forge_settings.DEFAULT


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("default", {"kind": "gitlab"}, "Unknown forge 'gitlab'. Available: github"),
        ("default", {"kind": "local"}, "The local forge needs no setting"),
        ("default", {"kind": "github", "url": "ftp://git.example.com"}, "must be an http(s) URL"),
        ("default", {"kind": "github", "url": "example.com"}, "must be an http(s) URL"),
        (
            "default",
            {"kind": "github", "url": "https://x-access-token:ghs_1@github.com"},
            "must not hold credentials",
        ),
        ("default", {"kind": "github", "api_url": "https://h/api?x=1"}, "no query or fragment"),
        ("default", {"kind": "github", "url": "https://h:99999"}, "is not a URL"),
        ("default", {"kind": "github", "url": "https://h/" + "a" * 600}, "url"),
        ("default", {"kind": "g" * 41}, "kind"),
        ("default", {"kind": "github", "token": "ghs_1"}, "token"),
        ("default", {}, "kind"),
        ("repositories/acme/-shop", {"kind": "github"}, "must be 'org/repo'"),
        ("repositories/acme/%2E%2E", {"kind": "github"}, "must be 'org/repo'"),
    ],
)
def test_bad_settings_are_refused_with_what_to_fix(
    api: httpx.Client, path: str, body: dict[str, str], message: str
) -> None:
    response = api.put(f"/api/v1/forges/{path}", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert api.get("/api/v1/forges").json()["default"]["kind"] == "github"


def test_only_admins_change_forges(api: httpx.Client) -> None:
    reader = token_with(api, "tasks:read")
    headers = {"Authorization": f"Bearer {reader}"}
    assert api.get("/api/v1/forges", headers=headers).status_code == 200
    response = api.put("/api/v1/forges/default", json=GHE, headers=headers)
    assert response.status_code == 403 and "'admin'" in response.json()["error"]["message"]
    response = api.delete("/api/v1/forges/repositories/acme/shop", headers=headers)
    assert response.status_code == 403
