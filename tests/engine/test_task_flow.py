"""A task's whole path on real parts: API → Temporal → command agent → git → pull request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.support.server import RunningServer
from tests.support.templates import scripted

# One script serves every stage; it sees its stage and prompt in the environment.
AGENT = r"""
case "$TASKYARD_STAGE" in
  plan) printf 'Plan for: %s\n' "$TASKYARD_PROMPT" > PLAN.md; echo planned ;;
  code) printf '%s\n' "$TASKYARD_PROMPT" > "$HOME/prompt-seen"
        echo "hello from the agent" >> hello.txt; echo coded ;;
  review) echo "reviewed: $(git diff --stat origin/main | tail -1)" ;;
esac
"""

TEMPLATE = scripted("scripted", AGENT)


@pytest.fixture
def template(server: RunningServer) -> str:
    response = server.http.post(
        "/api/v1/templates", content=TEMPLATE, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    return "scripted"


def test_task_runs_plan_code_review_done(
    server: RunningServer, template: str, remote_repo: Path
) -> None:
    task = server.create_task(
        title="Add a greeting",
        description="Write hello.txt",
        repository=str(remote_repo),
        template=template,
        origin="user_created",
    )
    key = task["key"]
    assert key == "TY-1" and task["branch"] == "taskyard/TY-1-add-a-greeting"

    waiting = server.wait_for(key, "waiting", stage="plan")
    assert waiting["stage"] == "plan"
    assert server.published_diff(key) == ""  # PLAN.md is never delivered
    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202

    reviewed = server.wait_for(key, "waiting", stage="review")
    assert reviewed["pull_requests"][0]["files_changed"] == 1
    assert "hello.txt" in server.http.get(f"/api/v1/tasks/{key}/diff").text
    response = server.http.post(f"/api/v1/tasks/{key}/approve", json={"comment": "ship it"})
    assert response.status_code == 202

    done = server.wait_for(key, "completed")
    assert done["stage"] == "done"
    assert [h["status"] for h in done["status_history"]][-1] == "completed"
    assert {"queued", "provisioning", "working", "waiting", "completed"} <= {
        h["status"] for h in done["status_history"]
    }

    # The branch is on the remote with the agent's change, and the PR is recorded.
    branch = "taskyard/TY-1-add-a-greeting"
    assert git("show", f"{branch}:hello.txt", cwd=remote_repo) == "hello from the agent\n"
    assert "PLAN.md" not in git("ls-tree", "--name-only", branch, cwd=remote_repo)
    pull = done["pull_requests"][0]
    assert pull["head"] == branch and pull["base"] == "main" and pull["forge"] == "local"
    assert pull["title"] == "TY-1: Add a greeting" and "TY-1" in pull["body"]
    assert (pull["additions"], pull["deletions"]) == (1, 0)

    kinds = [e["kind"] for e in server.events(key)]
    assert {"created", "status", "stage", "agent", "output", "approval", "delivery"} <= set(kinds)
    outputs = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert outputs[:2] == ["planned", "coded"]


def test_request_changes_sends_task_back_with_the_words(
    server: RunningServer, template: str, remote_repo: Path
) -> None:
    key = server.create_task(title="Greet", repository=str(remote_repo), template=template)["key"]
    server.wait_for(key, "waiting", stage="plan")
    server.http.post(f"/api/v1/tasks/{key}/approve")
    server.wait_for(key, "waiting", stage="review")

    before = server.last_event_id(key)
    response = server.http.post(
        f"/api/v1/tasks/{key}/request-changes", json={"text": "Please also greet in French"}
    )
    assert response.status_code == 202, response.text
    task = server.wait_for(key, "waiting", stage="review", after=before)

    # Code ran again with the person's words in its prompt, and the PR was updated.
    home = server.settings.data_dir / "homes" / "1" / key
    assert "Please also greet in French" in (home / "prompt-seen").read_text()
    assert git("show", f"{task['branch']}:hello.txt", cwd=remote_repo).count("hello") == 2
    stages = [e["data"]["stage"] for e in server.events(key) if e["kind"] == "stage"]
    assert stages == ["plan", "code", "review", "code", "review"]
    assert len(task["pull_requests"]) == 1

    server.http.post(f"/api/v1/tasks/{key}/approve")
    assert server.wait_for(key, "completed")["status"] == "completed"


def test_stage_that_changes_nothing_opens_no_pull_request(
    server: RunningServer, remote_repo: Path
) -> None:
    workflow = {"name": "just-code", "stages": [{"key": "code", "agent": {}, "deliver": True}]}
    assert server.http.post("/api/v1/workflows", json=workflow).status_code == 201
    key = server.create_task(
        title="Nothing to do",
        repository=str(remote_repo),
        workflow="just-code",
        agent={"kind": "command", "command": "echo nothing"},
    )["key"]
    # An inline agent uses the default sandbox; a host without one must say so.
    task = server.wait_for(key, "completed", "failed")
    if task["status"] == "failed":
        assert "bubblewrap" in task["status_message"] or "sandbox" in task["status_message"]
        return
    assert task["pull_requests"] == []
    deliveries = [e["data"] for e in server.events(key) if e["kind"] == "delivery"]
    assert deliveries == [
        {
            "stage": "code",
            "changed": False,
            "message": "Stage 'code' changed nothing; no pull request opened.",
        }
    ]
    # The delivery knew it from the turn's checkpoint and its untouched checkout: it ran
    # no export, which would have stored its result as the task's `work` ref.
    (vault,) = (server.settings.data_dir / "vault").glob("*.git")
    refs = git("for-each-ref", "--format=%(refname)", "refs/taskyard/", cwd=vault).split()
    assert refs == [f"refs/taskyard/1/{key}/live"]
