"""``taskyard quickstart`` end to end on the real engine: a local repository, a command
agent, Plan → Code → Review with the approvals typed out, and the local pull request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taskyard.cli.main import cli
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer


def test_the_quickstart_reaches_a_pull_request(server: RunningServer, tmp_path: Path) -> None:
    env = {"TASKYARD_URL": server.url, "TASKYARD_TOKEN": ADMIN_TOKEN}
    args = ["quickstart", "--dir", str(tmp_path / "qs"), "--timeout", "90"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)

    out = result.stdout
    repo = tmp_path / "qs" / "shop.git"
    for typed in (
        f"$ taskyard templates push {tmp_path / 'qs' / 'quickstart.yaml'}",
        f"$ taskyard tasks create --title 'Add a greeting' --repo {repo} --template quickstart",
        "$ taskyard tasks approve TY-1",
        "$ taskyard tasks diff TY-1",
        "$ taskyard tasks pulls TY-1",
    ):
        assert typed in out, out
    assert out.index("waits at plan") < out.index("waits at review") < out.index("completed")
    assert "Plan: add GREETING.md" in out and "+# Hello from taskyard" in out
    assert "taskyard secrets set ANTHROPIC_API_KEY" in out and "kind: claude-code" in out

    task = server.task("TY-1")
    assert task["status"] == "completed" and task["agent_state"] != "working"
    (pull,) = task["pull_requests"]
    assert pull["forge"] == "local" and pull["files_changed"] == 1 and pull["state"] == "open"
    greeting = subprocess.run(
        ["git", "-C", str(repo), "show", f"{pull['head']}:GREETING.md"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert greeting.startswith("# Hello from taskyard") and "TY-1" in greeting

    # The link in the pull request's body is a page that exists, showing this pull request.
    link = f"{server.url}/tasks/TY-1"
    assert link in pull["body"]
    page = server.http.get("/tasks/TY-1")
    assert page.status_code == 200 and "GREETING.md" in page.text

    # The command line shows and lists the local pull request with that page as its link.
    shown = CliRunner().invoke(cli, ["tasks", "show", "TY-1"], env=env).stdout
    assert f"Pull requests: #1 open {pull['head']} → main {link}" in shown
    assert CliRunner().invoke(cli, ["tasks", "pulls", "TY-1", "-q"], env=env).stdout == link + "\n"

    # A second run reuses the repository and template, and makes a new task.
    again = CliRunner().invoke(cli, [*args, "-q"], env=env)
    assert again.exit_code == 0 and again.stdout == "TY-2\n", again.stderr


def test_manual_leaves_the_approvals_to_the_person(server: RunningServer, tmp_path: Path) -> None:
    env = {**os.environ, "TASKYARD_URL": server.url, "TASKYARD_TOKEN": ADMIN_TOKEN}
    taskyard = str(Path(sys.executable).with_name("taskyard"))
    args = ["quickstart", "--manual", "--dir", str(tmp_path / "qs"), "--timeout", "90"]
    quickstart = subprocess.Popen(
        [taskyard, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert quickstart.stderr is not None and quickstart.stdout is not None
    # The person, in another terminal, does what the hints say, as they say it.
    hints = []
    for line in quickstart.stderr:
        if "waits for you at" in line:
            hints.append(line.split(":")[0])
            assert "run `taskyard tasks approve TY-1`" in line
            assert server.http.post("/api/v1/tasks/TY-1/approve").status_code == 202
    assert quickstart.wait(120) == 0, quickstart.stdout.read()
    assert quickstart.stdout.read().count("$ taskyard tasks approve TY-1") == 2
    quickstart.stdout.close()
    quickstart.stderr.close()
    assert hints == ["TY-1 waits for you at plan", "TY-1 waits for you at review"]
    assert server.task("TY-1")["status"] == "completed"


def test_a_failed_task_exits_3(server: RunningServer, remote_repo: Path) -> None:
    one = {"name": "one", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
    assert server.http.post("/api/v1/workflows", json=one).status_code == 201
    failing = "name: failing\nsandbox: none\nagent:\n  kind: command\n  command: exit 7\n"
    assert server.http.post("/api/v1/templates", content=failing).status_code == 201
    env = {"TASKYARD_URL": server.url, "TASKYARD_TOKEN": ADMIN_TOKEN}
    args = ["tasks", "create", "--title", "Fail", "--repo", str(remote_repo), "--wait"]
    args += ["--template", "failing", "--workflow", "one"]
    failed = CliRunner().invoke(cli, args, env=env)
    assert failed.exit_code == 3, (failed.stdout, failed.stderr)
    assert failed.stderr.splitlines()[-1].startswith("Error: TY-1 is failed")
    assert CliRunner().invoke(cli, ["tasks", "wait", "TY-1"], env=env).exit_code == 3
    assert CliRunner().invoke(cli, ["tasks", "events", "TY-1", "-f"], env=env).exit_code == 3


def test_a_server_refusing_its_directory_is_told_how_to_allow_it(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "qs"  # outside the server's roots
    env = {"TASKYARD_URL": server.url, "TASKYARD_TOKEN": ADMIN_TOKEN}
    result = CliRunner().invoke(cli, ["quickstart", "--dir", str(elsewhere)], env=env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert f"TASKYARD_LOCAL_REPOSITORY_ROOTS={elsewhere}" in result.stderr
    assert "`make run` allows the directory it runs in" in result.stderr
    assert server.http.get("/api/v1/tasks").json()["items"] == []
