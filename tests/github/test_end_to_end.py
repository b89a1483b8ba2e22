"""The whole GitHub loop through the webhook receiver, as a team would use it: a labelled
issue starts a task, its tracking comment follows it, Code opens a draft pull request
that fixes the issue, failing checks get exactly the configured repair rounds, and the
Review approval marks the pull request ready."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.github.conftest import ALICE, REPO, SECRET, Yard
from tests.support.github.records import Pull
from tests.support.github.webhooks import webhook

WRITER = """
name: writer
sandbox: none
agent:
  kind: command
  command: |
    case "$TASKYARD_STAGE" in
      code) date +%s%N >> hello.txt ;;
      *) echo "nothing to do in $TASKYARD_STAGE" ;;
    esac
"""


def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def failing_check(yard: Yard, pull: Pull, sha: str) -> Any:
    run = yard.github.records.add_check_run(REPO, sha, "tests", "failure", "FAILED test_hello\n")
    check = {
        "id": run.id,
        "name": "tests",
        "head_sha": sha,
        "conclusion": "failure",
        "output": {"title": "1 test failed", "summary": "test_hello failed", "text": None},
        "check_suite": {"head_branch": pull.head, "head_sha": sha},
        "pull_requests": [{"number": pull.number, "head": {"ref": pull.head, "sha": sha}}],
    }
    return webhook("check_run", "completed", SECRET, repository=REPO, more={"check_run": check})


def test_a_labelled_issue_becomes_a_ready_pull_request_with_bounded_repairs(yard: Yard) -> None:
    http, github, server = yard.http, yard.github, yard.server
    response = http.post(
        "/api/v1/templates", content=WRITER, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    yard.trigger(kind="label", template="writer")
    issue = github.records.add_issue(REPO, "Say hello", "Please add a greeting.")
    delivery = webhook(
        "issues",
        "labeled",
        SECRET,
        repository=REPO,
        sender=ALICE,
        label="taskyard",
        more={"issue": {"number": issue.number, "title": issue.title, "body": issue.body}},
    )
    assert yard.send(delivery).status_code == 202
    assert yard.outcome(delivery.id) == "Task TY-1 was created."
    key = "TY-1"

    # One tracking comment, posted at once.
    until(lambda: any(c.body.startswith("Task created:") for c in github.records.comments))
    [tracking] = github.records.comments
    assert tracking.issue_number == issue.number

    server.wait_for(key, "waiting", stage="plan")
    assert http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    server.wait_for(key, "waiting", stage="review")
    [pull] = github.records.pulls
    assert pull.draft and f"Fixes #{issue.number}" in pull.body

    # Failing checks: exactly two repair rounds (the default), then no more.
    for round_number in (1, 2):
        sha = server.task(key)["pull_requests"][0]["head_sha"]
        after = server.last_event_id(key)
        check = failing_check(yard, pull, sha)
        assert yard.send(check).status_code == 202
        assert (
            yard.outcome(check.id) == f"Repair round {round_number} of 2 for {key}: tests failed."
        )
        server.wait_for(key, "waiting", stage="review", after=after)
    sha = server.task(key)["pull_requests"][0]["head_sha"]
    check = failing_check(yard, pull, sha)
    yard.send(check)
    assert (
        yard.outcome(check.id)
        == f"{key} has had its 2 repair rounds: no more repair turns (tests)."
    )
    repairs = [e["data"]["round"] for e in server.events(key) if e["kind"] == "repair"]
    assert repairs == [1, 2]

    # Review approved: the draft is marked ready through GraphQL, and the task completes.
    assert not any("graphql" in r.url for r in github.records.requests)
    assert http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    server.wait_for(key, "completed")
    [mutation] = [json.loads(r.body) for r in github.records.requests if "graphql" in r.url]
    assert "markPullRequestReadyForReview" in mutation["query"]
    until(lambda: not github.records.pulls[0].draft)

    # The same comment, edited in place as the task moved, ends with the pull request.
    until(lambda: "**Completed**" in github.records.comments[0].body)
    [tracking] = github.records.comments
    bodies = [*tracking.history, tracking.body]
    assert any("plan" in body.lower() for body in bodies)
    assert any("review" in body.lower() for body in bodies)
    assert f"/pull/{pull.number}" in tracking.body
    assert not github.records.violations
