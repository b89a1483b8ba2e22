"""A task on a repository configured onto GitHub, delivered to a loopback stand-in:
cloned, pushed and its pull request opened with the configured token, which shows up
in no URL, event, log line or file the server wrote."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from taskyard.config import Settings
from tests.conftest import ADMIN_TOKEN, git
from tests.forges.conftest import TOKEN
from tests.support.github.standin import GitHubStandIn
from tests.support.server import RunningServer, start_server

TEMPLATE = """
name: greeter
sandbox: none
agent:
  kind: command
  command: |
    case "$TASKYARD_STAGE" in
      code) echo "hello from the agent" >> hello.txt ;;
      *) echo "nothing to do" ;;
    esac
"""


@pytest.fixture
def server_with_token(settings: Settings) -> Iterator[RunningServer]:
    configured = settings.model_copy(update={"github_token": TOKEN})
    with start_server(configured, ADMIN_TOKEN) as running:
        yield running


def test_a_task_is_delivered_to_its_configured_github(
    server_with_token: RunningServer, github: GitHubStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = server_with_token
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
        origin_context={"issue_number": issue.number},
    )
    key = task["key"]
    server.wait_for(key, "waiting", stage="plan")
    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    reviewed = server.wait_for(key, "waiting", stage="review")

    branch = task["branch"]
    pushed = github.root / "acme" / "shop.git"
    assert git("show", f"{branch}:hello.txt", cwd=pushed) == "hello from the agent\n"
    [opened] = github.records.pulls
    assert (opened.head, opened.base, opened.title) == (branch, "main", f"{key}: Say hello")
    assert opened.body.endswith(f"Fixes #{issue.number}")
    assert opened.draft
    url = f"{github.url}/acme/shop/pull/{opened.number}"
    [comment] = github.records.comments
    assert (comment.repository, comment.issue_number) == ("acme/shop", issue.number)
    assert comment.body == f"taskyard opened {url} for {key}."
    [pull] = reviewed["pull_requests"]
    assert (pull["forge"], pull["url"], pull["number"]) == ("github", url, opened.number)

    services = {r.url.split("service=")[-1] for r in github.records.requests if "service=" in r.url}
    assert services == {"git-upload-pack", "git-receive-pack"}  # cloned from it, pushed to it
    assert not any(TOKEN in seen.url for seen in github.records.requests)
    assert TOKEN not in json.dumps(server.events(key))
    assert TOKEN not in caplog.text
    data = server.settings.data_dir
    for path in (data / "mirrors").rglob("*"), (data / "vault").rglob("*"):
        for file in path:
            assert not file.is_file() or TOKEN.encode() not in file.read_bytes(), file
    assert server.http.post(f"/api/v1/tasks/{key}/cancel", json={}).status_code == 202
