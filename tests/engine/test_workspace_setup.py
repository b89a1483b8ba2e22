"""Setup scripts and secrets, through the real engine."""

from __future__ import annotations

from pathlib import Path

from tests.engine.test_signals import ONE_STAGE
from tests.support.server import RunningServer


def test_failing_setup_fails_the_stage_with_its_last_lines(
    server: RunningServer, remote_repo: Path
) -> None:
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    template = """
name: broken-setup
sandbox: none
setup: |
  echo installing
  echo "npm ERR! missing script: build"
  exit 3
agent: {kind: command, command: "echo never"}
"""
    assert server.http.post("/api/v1/templates", content=template).status_code == 201
    key = server.create_task(
        title="t", repository=str(remote_repo), template="broken-setup", workflow="one"
    )["key"]
    task = server.wait_for(key, "failed")
    assert "Setup script failed (exit 3)" in task["status_message"]
    assert "npm ERR! missing script: build" in task["status_message"]
    lines = [e["data"]["line"] for e in server.events(key) if e["kind"] == "setup"]
    assert lines == ["installing", "npm ERR! missing script: build"]
    assert not any(e["kind"] == "output" for e in server.events(key))


def test_a_passed_secret_is_redacted_from_events(server: RunningServer, remote_repo: Path) -> None:
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    secret = "s3cr3t-npm-token-value"
    response = server.http.put("/api/v1/secrets/NPM_TOKEN", json={"value": secret})
    assert response.status_code == 200 and secret not in response.text
    assert secret not in server.http.get("/api/v1/secrets").text
    template = """
name: leaky
sandbox: none
secrets: [NPM_TOKEN]
agent:
  kind: command
  command: 'echo "token is $NPM_TOKEN"; echo "unset: ${OTHER_SECRET:-none}"'
"""
    assert server.http.post("/api/v1/templates", content=template).status_code == 201
    key = server.create_task(
        title="t", repository=str(remote_repo), template="leaky", workflow="one"
    )["key"]
    server.wait_for(key, "completed")
    lines = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert lines == ["token is [REDACTED]", "unset: none"]
    assert secret not in server.http.get(f"/api/v1/tasks/{key}/events").text


def test_a_missing_secret_fails_the_task_clearly(server: RunningServer, remote_repo: Path) -> None:
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    template = "name: needy\nsandbox: none\nsecrets: [NOPE]\nagent: {kind: command, command: ls}\n"
    assert server.http.post("/api/v1/templates", content=template).status_code == 201
    key = server.create_task(
        title="t", repository=str(remote_repo), template="needy", workflow="one"
    )["key"]
    task = server.wait_for(key, "failed")
    assert "Secret(s) not set in this organization: NOPE" in task["status_message"]


def test_git_works_inside_the_default_sandbox(server: RunningServer, remote_repo: Path) -> None:
    """The checkout borrows its objects from the mirror in the hidden data dir."""
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE_DELIVER).status_code == 201
    key = server.create_task(
        title="Use git",
        repository=str(remote_repo),
        workflow="ship",
        agent={"kind": "command", "command": "git log --format=%s -1 && echo x > made.txt"},
    )["key"]
    task = server.wait_for(key, "completed", "failed")
    assert task["status"] == "completed", task["status_message"]
    assert [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"] == ["initial"]
    assert task["pull_requests"][0]["files_changed"] == 1


ONE_STAGE_DELIVER = {
    "name": "ship",
    "stages": [{"key": "code", "agent": {}, "deliver": True}, {"key": "done"}],
}
