"""A task from a GitHub issue, end to end against the stand-in: its draft pull request
(``Fixes #N``), the one tracking comment edited through the stages, Review's approval
marking the draft ready through GraphQL; and a delivery refused, never forced, after a
person pushed to the task's branch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.services import tracking
from tests.conftest import ADMIN_TOKEN, git
from tests.forges.conftest import TOKEN
from tests.forges.test_delivery import TEMPLATE
from tests.support.github.records import Comment
from tests.support.github.standin import GitHubStandIn
from tests.support.server import RunningServer, start_server

PUBLIC = "https://ty.example.com"


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    configured = settings.model_copy(
        update={"github_token": TOKEN, "public_url": PUBLIC, "github_comment_interval": 0.2}
    )
    with start_server(configured, ADMIN_TOKEN) as running:
        yield running


def from_issue(server: RunningServer, github: GitHubStandIn) -> tuple[dict[str, Any], int]:
    """A task on an issue of ``acme/shop`` at the stand-in, followed by a tracking comment."""
    site = {"kind": "github", "url": github.url, "api_url": github.url}
    assert server.http.put("/api/v1/forges/repositories/acme/shop", json=site).status_code == 200
    response = server.http.post(
        "/api/v1/templates", content=TEMPLATE, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    issue = github.records.add_issue("acme/shop", "Say hello")
    task = server.create_task(
        title="Say hello",
        repository="acme/shop",
        template="greeter",
        origin="github_issue",
        origin_context={"issue_number": issue.number},
    )
    with session_scope(server.settings.resolved_database_url) as session:
        row = session.get(Task, task["id"])
        assert row is not None
        tracking.start_tracking(session, row, "acme/shop", issue.number)
    return task, issue.number


def comment_saying(github: GitHubStandIn, text: str, timeout: float = 30) -> Comment:
    """The one comment on the issue, once it says ``text``."""
    deadline = time.monotonic() + timeout
    while True:
        comments = list(github.records.comments)
        assert len(comments) <= 1, [c.body for c in comments]
        if comments and text in comments[0].body:
            return comments[0]
        assert time.monotonic() < deadline, f"no comment saying {text!r}: {comments}"
        time.sleep(0.05)


def test_a_draft_pull_request_marked_ready_when_review_approves(
    server: RunningServer, github: GitHubStandIn
) -> None:
    task, issue = from_issue(server, github)
    key = task["key"]
    comment_saying(github, f"Task created: {PUBLIC}/tasks/{key}")
    server.wait_for(key, "waiting", stage="plan")
    comment_saying(github, "stage Plan")
    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    reviewed = server.wait_for(key, "waiting", stage="review")

    [opened] = github.records.pulls
    assert opened.draft and opened.head == task["branch"]
    assert (
        opened.body.splitlines()[0] == f"Opened by taskyard for task [{key}]({PUBLIC}/tasks/{key})."
    )
    assert opened.body.endswith(f"Fixes #{issue}")
    [pull] = reviewed["pull_requests"]
    assert pull["draft"] and pull["url"] == f"{github.url}/acme/shop/pull/{opened.number}"
    comment_saying(github, f"Pull request: {pull['url']} (draft)")
    assert not any("graphql" in r.url for r in github.records.requests)  # Plan's approval

    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    server.wait_for(key, "completed")
    assert not opened.draft
    [mutation] = [json.loads(r.body) for r in github.records.requests if "graphql" in r.url]
    assert "markPullRequestReadyForReview" in mutation["query"]
    assert mutation["variables"] == {"id": opened.node_id}
    assert server.task(key)["pull_requests"][0]["draft"] is False

    final = comment_saying(github, "**Completed**")
    assert f"Pull request: {pull['url']} (ready for review)" in final.body
    said = [*final.history, final.body]
    assert final.body.startswith(f"Task created: {PUBLIC}/tasks/{key}\n")
    for stage in ("Plan", "Review"):  # each waited for a person: each was shown
        assert any(f"stage {stage}" in body for body in said), said
    assert len(github.records.comments) == 1  # no second comment announcing the pull request


def test_a_branch_a_person_pushed_to_is_not_overwritten(
    server: RunningServer, github: GitHubStandIn, tmp_path: Any
) -> None:
    task, _ = from_issue(server, github)
    key, branch = task["key"], task["branch"]
    server.wait_for(key, "waiting", stage="plan")
    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    server.wait_for(key, "waiting", stage="review")
    remote = github.root / "acme" / "shop.git"
    delivered = git("rev-parse", branch, cwd=remote).strip()

    person = tmp_path / "person"
    git("clone", "-q", "--branch", branch, str(remote), str(person))
    (person / "hello.txt").write_text("a person's words\n")
    git("commit", "-q", "-am", "A person's fix", cwd=person)
    git("push", "-q", "origin", branch, cwd=person)
    theirs = git("rev-parse", "HEAD", cwd=person).strip()

    changes = {"text": "Say it twice"}
    assert server.http.post(f"/api/v1/tasks/{key}/request-changes", json=changes).status_code == 202
    failed = server.wait_for(key, "failed")
    assert git("rev-parse", branch, cwd=remote).strip() == theirs  # nothing overwritten
    refusal = f"branch {branch} is at {theirs[:12]}, not at {delivered[:12]}"
    assert (
        refusal in failed["status_message"]
        and "Nothing was overwritten" in failed["status_message"]
    )
    [refused] = [
        e for e in server.events(key) if e["kind"] == "delivery" and e["data"].get("refused")
    ]
    assert refusal in refused["data"]["message"]
    final = comment_saying(github, "**Failed**")
    assert refusal in final.body
    [opened] = github.records.pulls
    assert opened.draft  # never approved: still a draft
