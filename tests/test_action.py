"""The GitHub Action (``action.yml``), run as a workflow run runs it, against a real
taskyard server and the GitHub stand-in.

The step is taken from ``action.yml`` itself: its ``env`` is filled from the inputs as
GitHub fills ``${{ inputs.x }}``, its ``run`` goes through bash as GitHub runs it, with
the system's python3 and nothing else on PATH (a runner has no taskyard installed), and
the variables a run sets (``GITHUB_EVENT_PATH`` holding a payload GitHub publishes,
``GITHUB_OUTPUT``, ``GITHUB_SERVER_URL``...). The outputs are read back through the
action's ``outputs`` mapping.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ADMIN_TOKEN, git
from tests.engine.test_signals import push
from tests.support.github.standin import GitHubStandIn, serve_github
from tests.support.github.webhooks import adjust, example_payload
from tests.support.server import RunningServer
from tests.test_sdk import GATED

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
GITHUB_TOKEN = "ghs_actionrun0123456789abcdefSECRET"
SENDER = ("octo-dev", 4242)
INPUT = re.compile(r"\$\{\{ inputs\.([a-z-]+) \}\}")
STEP_OUTPUT = re.compile(r"\$\{\{ steps\.create\.outputs\.([a-z-]+) \}\}")


@dataclass
class Run:
    code: int
    stdout: str
    outputs: dict[str, str]

    @property
    def errors(self) -> list[str]:
        return [
            line[len("::error::") :] for line in self.stdout.splitlines() if "::error::" in line
        ]


@dataclass(repr=False)
class Workflow:
    """Runs the action's step with ``inputs`` in the environment of a run on ``event``."""

    server: RunningServer
    github: GitHubStandIn
    tmp: Path
    payload: dict[str, Any]

    def __call__(self, **inputs: str) -> Run:
        given = {"taskyard-url": self.server.url, "taskyard-token": ADMIN_TOKEN, **inputs}
        unknown = set(given) - set(ACTION["inputs"])
        assert not unknown, f"action.yml has no input {unknown}"
        values = {}
        for name, spec in ACTION["inputs"].items():
            default = str(spec.get("default", ""))
            values[name] = given.get(name, GITHUB_TOKEN if "github.token" in default else default)
        (step,) = ACTION["runs"]["steps"]
        env = {}
        for variable, expression in step["env"].items():
            matched = INPUT.fullmatch(expression)
            assert matched, f"{variable}: only ${{{{ inputs.x }}}} reaches the script"
            env[variable] = values[matched[1]]
        event, output = self.tmp / "event.json", self.tmp / "output"
        event.write_text(json.dumps(self.payload))
        output.write_text("")
        script = self.tmp / "step.sh"
        script.write_text(step["run"])
        env |= {
            "PATH": "/usr/bin:/bin",  # the system's python3: no taskyard, no project packages
            "HOME": str(self.tmp),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_EVENT_NAME": "issues",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_SERVER_URL": self.github.url,
            "GITHUB_API_URL": self.github.url,
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_RUN_ID": "9001",
            "GITHUB_ACTOR": SENDER[0],
        }
        assert step["shell"] == "bash"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        written = dict(line.split("=", 1) for line in output.read_text().splitlines())
        outputs = {}
        for name, spec in ACTION["outputs"].items():
            matched = STEP_OUTPUT.fullmatch(spec["value"])
            assert matched, name
            if matched[1] in written:
                outputs[name] = written[matched[1]]
        assert not done.stderr, done.stderr
        return Run(done.returncode, done.stdout, outputs)


@pytest.fixture
def workflow(server: RunningServer, remote_repo: Path, tmp_path: Path) -> Iterator[Workflow]:
    root = tmp_path / "github"
    git("clone", "--quiet", "--bare", str(remote_repo), str(root / "acme" / "shop.git"))
    with serve_github(root, GITHUB_TOKEN) as github:
        issue = github.records.add_issue("acme/shop", "Checkout crashes", "Empty cart: boom")
        url = f"{github.url}/acme/shop/issues/{issue.number}"
        payload = adjust(
            example_payload("issues", "labeled"),
            repository="acme/shop",
            label="taskyard",
            sender=SENDER,
            more={"issue": {"number": issue.number, "html_url": url, "title": issue.title}},
        )
        payload["issue"]["body"] = issue.body
        yield Workflow(server, github, tmp_path, payload)


def test_a_run_creates_a_task_and_the_next_one_messages_it(
    workflow: Workflow, remote_repo: Path, tmp_path: Path
) -> None:
    server, gate = workflow.server, tmp_path / "go"
    template = push(server, "gated", GATED.format(gate=gate))
    one = {"name": "one", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
    assert server.http.post("/api/v1/workflows", json=one).status_code == 201
    assert server.http.post("/api/v1/users", json={"username": "dev"}).status_code == 201
    link = {"external_id": str(SENDER[1]), "login": SENDER[0]}
    assert server.http.post("/api/v1/users/dev/identities", json=link).status_code == 201
    inputs = {
        "repository": str(remote_repo),
        "base-branch": "main",
        "taskyard-template": template,
        "taskyard-workflow": "one",
    }

    first = workflow(prompt="Fix the crash on an empty cart.", **inputs)
    assert (first.code, first.errors) == (0, [])
    page = f"{server.url}/tasks/TY-1"
    assert first.outputs == {"task-key": "TY-1", "task-url": page, "task-created": "true"}
    assert f"Created TY-1: {page}" in first.stdout
    task = server.task("TY-1")
    assert (task["origin"], task["thread"], task["creator"]) == (
        "github_action",
        "github:acme/shop#1",
        "dev",
    )
    assert task["origin_context"] == {
        "repository": str(remote_repo),
        "event": "issues",
        "run_url": f"{workflow.github.url}/acme/shop/actions/runs/9001",
        "issue_url": f"{workflow.github.url}/acme/shop/issues/1",
        "issue_number": 1,
        "issue_title": "Checkout crashes",
        "issue_body": "Empty cart: boom",
    }
    assert (task["title"], task["base_branch"]) == ("Fix the crash on an empty cart.", "main")

    second = workflow(prompt="Also add a test.", **inputs)
    assert (second.code, second.errors) == (0, [])
    assert second.outputs == {"task-key": "TY-1", "task-url": page, "task-created": "false"}
    comments = [c.body for c in workflow.github.records.comments]
    assert comments == [f"Task created: [TY-1]({page})", f"Sent to the open task [TY-1]({page})."]

    gate.touch()
    server.wait_for("TY-1", "completed")
    lines = [e["data"]["line"] for e in server.events("TY-1") if e["kind"] == "output"]
    assert lines == ["got: Also add a test."]
    for run in (first, second):  # the tokens are masked, and printed nowhere else
        for token in (ADMIN_TOKEN, GITHUB_TOKEN):
            assert run.stdout.count(token) == 1 and f"::add-mask::{token}" in run.stdout


def test_failures_are_clear_errors_with_a_non_zero_exit(
    workflow: Workflow, remote_repo: Path
) -> None:
    server = workflow.server
    inputs = {"prompt": "Fix it", "repository": str(remote_repo), "taskyard-username": "admin"}

    bad_token = workflow(**inputs, **{"taskyard-token": "ty_revoked_or_mistyped"})
    assert bad_token.code == 1 and bad_token.outputs == {}
    assert bad_token.errors == [
        "taskyard answered 401 (unauthenticated): Invalid or revoked API token. Check the "
        "taskyard-token input: is the secret set, and is the token not revoked?"
    ]
    assert bad_token.stdout.count("ty_revoked_or_mistyped") == 1  # its ::add-mask:: only

    unknown = workflow(**inputs, **{"taskyard-template": "nope"})
    assert (unknown.code, unknown.errors) == (
        1,
        ["taskyard answered 404 (not_found): Template 'nope' not found"],
    )

    unlinked = workflow(prompt="Fix it", repository=str(remote_repo))  # the sender's id
    assert unlinked.code == 1
    assert unlinked.errors == [
        "taskyard answered 404 (not_found): No taskyard user is linked to github user ID 4242: "
        "an admin links it with `taskyard users link <username> --github-id 4242`. "
        "Or name the taskyard user with the taskyard-username input."
    ]

    not_an_issue = workflow(**inputs, **{"github-issue-url": "https://example.com/x"})
    assert not_an_issue.code == 1 and "is not the URL of an issue" in not_an_issue.errors[0]
    missing = workflow(**{**inputs, "prompt": ""})
    assert missing.errors == ["The 'prompt' input is required."]

    nowhere = workflow(**inputs, **{"taskyard-url": "http://127.0.0.1:9"})
    assert nowhere.code == 1 and nowhere.errors[0].startswith("Cannot reach http://127.0.0.1:9")

    assert server.http.get("/api/v1/tasks").json()["items"] == []
    assert workflow.github.records.comments == []

    # A comment GitHub refuses fails the step, which still says what became of the task.
    quick = push(server, "quick", "echo done")
    refused = workflow(**inputs, **{"taskyard-template": quick, "github-token": "ghs_wrong"})
    assert refused.code == 1 and refused.outputs["task-key"] == "TY-1"
    assert refused.errors == [
        "Could not comment on acme/shop#1: GitHub answered 401 Bad credentials. The workflow "
        "needs `permissions: issues: write` (pull-requests: write on a pull request) for the "
        "github-token input, or set comment-on-issue to false."
    ]
