"""Marking a task's drafts ready for review after an approval, against the GitHub
stand-in: a draft made ready through GraphQL; a refusal, or a GitHub still unreachable
on the last try, said in the task's events with the draft left as it is."""

from __future__ import annotations

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import PullRequest
from taskyard.db.session import session_scope
from taskyard.engine import delivery
from taskyard.model.errors import Unavailable
from tests.conftest import git
from tests.forges.conftest import TOKEN
from tests.support.github.records import Pull
from tests.support.github.standin import GitHubStandIn

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The stand-in's origin, and a closed port of loopback for a GitHub that never answers."""
    origins = f"{api_settings.forge_origins},{UNREACHABLE}"
    return api_settings.model_copy(update={"forge_origins": origins})


def task_with_draft(
    api: httpx.Client, settings: Settings, github: GitHubStandIn, api_url: str = ""
) -> tuple[int, Pull]:
    """A task with an open draft on the stand-in, as a delivery would have left it."""
    site = {"kind": "github", "url": github.url, "api_url": api_url or github.url}
    assert api.put("/api/v1/forges/repositories/acme/shop", json=site).status_code == 200
    body = {"title": "Fix", "repository": "acme/shop", "run": False}
    task = api.post("/api/v1/tasks", json=body).json()
    remote = github.root / "acme" / "shop.git"
    git("branch", task["branch"], "main", cwd=remote)
    sha = git("rev-parse", "main", cwd=remote).strip()
    number = github.records.next_number("acme/shop")
    pull = Pull("acme/shop", number, "Fix", "", task["branch"], "main", sha, "bot", draft=True)
    github.records.pulls.append(pull)
    with session_scope(settings.resolved_database_url) as session:
        session.add(
            PullRequest(
                task_id=task["id"], forge="github", repository="acme/shop", number=number,
                url=f"{github.url}/acme/shop/pull/{number}", title="Fix", head=task["branch"],
                base="main", head_sha=sha, node_id=pull.node_id, draft=True,
            )
        )  # fmt: skip
    return task["id"], pull


def said(api: httpx.Client, task_id: int) -> list[dict[str, object]]:
    events = api.get(f"/api/v1/tasks/{task_id}/events").json()["items"]
    return [e["data"] for e in events if e["kind"] == "delivery"]


def drafts(api: httpx.Client, task_id: int) -> list[bool]:
    return [p["draft"] for p in api.get(f"/api/v1/tasks/{task_id}").json()["pull_requests"]]


async def test_a_draft_is_marked_ready_once(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = api_settings.model_copy(update={"github_token": TOKEN})
    task_id, pull = task_with_draft(api, settings, github)
    await delivery.mark_ready(settings, task_id)
    await delivery.mark_ready(settings, task_id)  # a later approval: nothing left to mark
    assert not pull.draft and drafts(api, task_id) == [False]
    assert sum("graphql" in r.url for r in github.records.requests) == 1
    assert said(api, task_id) == [
        {"pull_request": pull.number, "ready": True, "message": f"Pull request #{pull.number} "
         "marked ready for review."}
    ]  # fmt: skip


async def test_a_refusal_leaves_the_draft_and_says_why(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = api_settings.model_copy(update={"github_token": TOKEN})
    task_id, pull = task_with_draft(api, settings, github)
    github.records.pulls.remove(pull)  # GitHub no longer knows the node: it answers an error
    await delivery.mark_ready(settings, task_id)
    assert drafts(api, task_id) == [True]
    [event] = said(api, task_id)
    assert event["ready"] is False
    assert "could not be marked ready for review" in str(event["message"])
    assert "Could not resolve to a node" in str(event["message"])
    github.records.violations.clear()  # the stand-in notes every GraphQL error it answers


async def test_an_unreachable_github_is_retried_until_the_last_try(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = api_settings.model_copy(update={"github_token": TOKEN})
    task_id, _ = task_with_draft(api, settings, github, api_url=UNREACHABLE)
    with pytest.raises(Unavailable):
        await delivery.mark_ready(settings, task_id)
    assert said(api, task_id) == []
    await delivery.mark_ready(settings, task_id, last_try=True)
    [event] = said(api, task_id)
    assert event["ready"] is False and "GitHub unreachable" in str(event["message"])
    assert drafts(api, task_id) == [True]


async def test_credentials_gone_since_the_delivery_leave_the_draft_and_say_so(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    task_id, pull = task_with_draft(api, api_settings, github)  # no token configured
    await delivery.mark_ready(api_settings, task_id)
    [event] = said(api, task_id)
    assert event["ready"] is False and "TASKYARD_GITHUB_TOKEN" in str(event["message"])
    assert pull.draft and drafts(api, task_id) == [True]
