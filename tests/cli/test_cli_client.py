"""The client commands through click's runner, against the real API on loopback.

The API runs in-process without the engine (see ``tests/test_sdk.py``); the slow test
at the end runs ``taskyard serve`` for real and a command agent to completion.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from taskyard.cli.main import cli
from taskyard.sdk import Client
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import push
from tests.support.server import RunningServer
from tests.test_sdk import GATED, TEMPLATE, TOKEN, make_app, serve

WORKFLOW = """
name: quick
stages:
  - key: code
    agent: {}
    deliver: true
  - key: done
"""


@dataclass
class Cli:
    """Runs ``taskyard ...`` in-process with TASKYARD_URL and TASKYARD_TOKEN set."""

    url: str
    token: str = TOKEN

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        env = {"TASKYARD_URL": self.url, "TASKYARD_TOKEN": self.token}
        result = CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self(*args, "-o", "json", input=input).stdout)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Cli]:
    with serve(make_app(tmp_path / "data")) as url:
        yield Cli(url)


def test_create_show_list_and_events(run: Cli) -> None:
    task = run.json(
        "tasks",
        "create",
        "--title",
        "Fix the crash",
        "--repo",
        "acme/shop",
        "--no-run",
        "--param",
        "ai_prompt=from a param",
        "-",
        input="Line one\nTwo\n",
    )
    assert task["key"] == "TY-1" and task["origin"] == "cli"
    assert task["description"] == "Line one\nTwo" and task["status"] == "queued"
    assert task["parameters"]["ai_prompt"] == "from a param"

    shown = run("tasks", "show", "TY-1").stdout
    assert "Key:           TY-1" in shown and "Status:        queued" in shown
    assert shown.endswith("\nLine one\nTwo\n")

    run("tasks", "create", "--title", "Second", "--repo", "acme/shop", "--no-run")
    lines = run("tasks", "list").stdout.splitlines()
    assert lines[0].split() == ["KEY", "STATUS", "STAGE", "TITLE", "REPOSITORY", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == ["TY-2", "TY-1"]
    assert [t["key"] for t in run.json("tasks", "list", "--limit", "1")] == ["TY-2"]
    assert len(run.json("tasks", "list", "--all", "--limit", "1")) == 2
    assert run("tasks", "list", "--status", "failed").stderr == "No tasks.\n"

    events = run("tasks", "events", "TY-1").stdout.splitlines()
    assert [e.split()[1:3] for e in events] == [["created", "created"], ["status", "queued"]]
    as_json = [
        json.loads(line)
        for line in run("tasks", "events", "TY-1", "-o", "json").stdout.splitlines()
    ]
    assert [e["kind"] for e in as_json] == ["created", "status"]
    assert (
        run("tasks", "events", "TY-1", "--kind", "status", "--after", "0").stdout.count("\n") == 1
    )


def test_follow_and_wait(run: Cli) -> None:
    run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    assert run("tasks", "cancel", "TY-1").stdout == "Cancelling TY-1.\n"
    # Following or waiting on a task that did not complete says how it ended, in the
    # exit status too: 3 failed, 4 cancelled, 5 timed out (docs/cli.md).
    followed = run("tasks", "events", "TY-1", "--follow", code=4).stdout.splitlines()
    assert followed[-1].split()[1:] == ["status", "cancelled:", "Cancelled", "by", "admin"]
    waited = run("tasks", "wait", "TY-1", code=4)
    assert waited.stderr == "Error: TY-1 is cancelled: Cancelled by admin\n"
    assert "Status:" in waited.stdout
    run("tasks", "wait", "TY-1", "--status", "cancelled", "-o", "json")
    run("tasks", "logs", "TY-1", "--follow", code=4)
    run("tasks", "show", "TY-1", "--watch", code=4)
    shown = run.json("tasks", "show", "TY-1")
    assert shown["agent_state"] == "" and shown["status"] == "cancelled"

    run("tasks", "create", "--title", "Never started", "--repo", "acme/shop", "--no-run")
    timed_out = run("tasks", "wait", "TY-2", "--status", "completed", "--timeout", "0.3", code=5)
    assert timed_out.stderr == "Error: Timed out waiting for the task.\n"


def test_api_errors_are_one_line_on_stderr(run: Cli) -> None:
    missing = run("tasks", "show", "TY-9", code=1)
    assert (missing.stdout, missing.stderr) == ("", "Error: Task 'TY-9' not found.\n")
    bad_repo = run("tasks", "create", "--title", "T", "--repo", "nope", code=1)
    assert bad_repo.stderr.startswith("Error: Repository 'nope' must be 'org/repo'")

    run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    not_started = run("tasks", "send", "TY-1", "-", input="hello", code=1)
    assert not_started.stderr == "Error: Task TY-1 has not been started; start it first.\n"
    assert "not been started" in run("tasks", "request-changes", "TY-1", "redo", code=1).stderr
    assert "not been started" in run("tasks", "approve", "TY-1", "-m", "ok", code=1).stderr
    assert run("tasks", "diff", "TY-1").stdout == ""
    run("tasks", "cancel", "TY-1")
    assert "already cancelled" in run("tasks", "cancel", "TY-1", code=1).stderr
    run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    assert "engine is not connected" in run("tasks", "start", "TY-2", code=1).stderr

    # Mistakes the command line catches itself are usage errors (exit 2).
    run("tasks", "create", "--title", "T", "--repo", "r/r", "--no-run", "--wait", code=2)
    run("tasks", "create", "--title", "T", "--repo", "r/r", "--param", "novalue", code=2)


def test_reviewers_at_creation_and_after(run: Cli) -> None:
    for name in ("bob", "cy"):
        run("users", "create", name)
    create = ("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    task = run.json(*create, "--reviewer", "cy", "--reviewer", "bob", "--reviewer", "cy")
    assert task["reviewers"] == ["bob", "cy"]
    assert "Reviewers:     bob, cy" in run("tasks", "show", "TY-1").stdout
    assert run("tasks", "reviewers", "TY-1", "cy").stdout == "Reviewers of TY-1: cy.\n"
    assert run.json("tasks", "show", "TY-1")["reviewers"] == ["cy"]
    assert run("tasks", "reviewers", "TY-1", "--clear").stdout == "Reviewers of TY-1: none.\n"
    unknown = run("tasks", "reviewers", "TY-1", "zed", code=1)
    assert unknown.stderr == "Error: Reviewer 'zed' is not a user of this organization.\n"
    assert "'zed'" in run(*create, "--reviewer", "zed", code=1).stderr
    run("tasks", "reviewers", "TY-1", code=2)  # neither names nor --clear
    run("tasks", "reviewers", "TY-1", "bob", "--clear", code=2)


def test_create_on_a_thread(server: RunningServer, remote_repo: Path, tmp_path: Path) -> None:
    run, gate = Cli(server.url, ADMIN_TOKEN), tmp_path / "go"
    template = push(server, "gated", GATED.format(gate=gate))
    create = ("tasks", "create", "--title", "Issue 12", "--repo", str(remote_repo))
    on_thread = (*create, "--template", template, "--thread", "github:acme/shop#12")
    first = run(*on_thread, "Fix it")
    assert "Thread:" in first.stdout and "github:acme/shop#12" in first.stdout
    again = run(*on_thread, "Also the docs")
    assert again.stderr.startswith(
        "TY-1 is open on thread github:acme/shop#12: it got the description as a message.\n"
    )
    assert run.json(*on_thread, "And tests")["key"] == "TY-1"
    gate.touch()
    server.wait_for("TY-1", "waiting", "completed")
    told = [e["data"]["text"] for e in server.events("TY-1") if e["kind"] == "message"]
    assert told == ["Also the docs", "And tests"]


def test_bad_token_and_unreachable_server(run: Cli) -> None:
    denied = Cli(run.url, token="ty_wrong")("teams", "list", code=1)
    assert denied.stderr == (
        "Error: Invalid or revoked API token. "
        "(Run `taskyard login`, set TASKYARD_TOKEN or pass --token.)\n"
    )
    assert run("teams", "--token", "ty_wrong", "list", code=1).stderr.startswith("Error: Invalid")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    down = Cli(url)("tasks", "list", code=1)
    assert down.stderr.startswith(f"Error: Cannot reach taskyard at {url}")


def test_client_factory_seam() -> None:
    """A callable context object makes the client: here one that talks to a fake."""
    made: list[tuple[str | None, str | None]] = []

    def factory(url: str | None, token: str | None) -> Client:
        made.append((url, token))
        fake = httpx.MockTransport(lambda _: httpx.Response(502, text="upstream is down"))
        return Client(url, token, transport=fake)

    args = ["secrets", "--url", "http://fake", "--token", "t0k", "list"]
    result = CliRunner().invoke(cli, args, obj=factory, env={"TASKYARD_URL": None})
    assert (result.exit_code, result.stderr) == (1, "Error: upstream is down\n")
    assert made == [("http://fake", "t0k")]


def test_a_client_given_as_context_object_is_used_as_is(run: Cli) -> None:
    with Client(run.url, TOKEN) as client:
        result = CliRunner().invoke(cli, ["teams", "list", "-o", "json"], obj=client)
        assert result.exit_code == 0 and json.loads(result.stdout)[0]["key"] == "TY"
        assert client.teams.list()  # still open: the caller owns it


def test_workflows(run: Cli, tmp_path: Path) -> None:
    (tmp_path / "quick.yaml").write_text(WORKFLOW)
    created = run("workflows", "create", str(tmp_path / "quick.yaml")).stdout
    assert "Name:     quick" in created and "Stages:   Code → Done" in created
    listed = run("workflows", "list").stdout.splitlines()
    assert listed[1].split()[:4] == ["TY", "default", "yes", "no"]
    assert "Plan (approval) → Code → Review (approval) → Done" in listed[1]
    assert "default workflow of team TY" in run("workflows", "default", "quick").stdout
    run("workflows", "default", "default")
    assert run("workflows", "archive", "quick").stdout == "Archived quick (0 tasks still on it).\n"
    assert [w["name"] for w in run.json("workflows", "list", "--archived")] == ["default", "quick"]
    run("workflows", "delete", "quick")
    as_json = json.dumps({"name": "j", "stages": [{"key": "done"}]})
    assert run.json("workflows", "create", "-", "--default", input=as_json)["default"] is True
    assert "must be a mapping" in run("workflows", "create", "-", input="[1]", code=1).stderr


def test_templates(run: Cli, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    assert "Version:     1" in run("templates", "push", str(tmp_path / "t.yaml")).stdout
    assert run.json("templates", "push", "-", input=TEMPLATE)["version"] == 2
    assert run("templates", "list").stdout.splitlines()[1].split()[:3] == [
        "scripted",
        "2",
        "command",
    ]
    shown = run("templates", "show", "scripted", "--version", "1").stdout
    assert shown.endswith("\n" + TEMPLATE)
    assert [t["version"] for t in run.json("templates", "versions", "scripted")] == [1, 2]
    bad = run("templates", "push", "-", input="name: BAD NAME\n", code=1)
    assert bad.stderr.startswith("Error: ") and "Traceback" not in bad.output


def test_users_and_tokens(run: Cli) -> None:
    run("users", "create", "ada", "--name", "Ada", "--email", "ada@example.com")
    assert [u["username"] for u in run.json("users", "list")] == ["admin", "ada"]
    assert run("users", "link", "ada", "--github-id", "42", "--login", "ada-gh").stdout == (
        "Linked GitHub ada-gh to ada.\n"
    )
    made = run("tokens", "create", "ci", "--scope", "tasks:read", "--scope", "users:read")
    token = made.stdout.strip()
    assert token.startswith("ty_") and "tasks:read, users:read" in made.stderr
    assert Cli(run.url, token)("tasks", "list").stderr == "No tasks.\n"
    assert "lacks the 'admin' scope" in Cli(run.url, token)("teams", "create", "X", code=1).stderr
    listed = run("tokens", "list").stdout.splitlines()
    assert listed[0].split() == ["ID", "NAME", "PREFIX", "SCOPES", "CREATED", "REVOKED"]
    token_id = str(run.json("tokens", "list")[-1]["id"])
    assert run("tokens", "revoke", token_id).stdout == f"Revoked token {token_id}.\n"
    assert "revoked" in Cli(run.url, token)("tasks", "list", code=1).stderr


def test_secrets_and_teams(run: Cli) -> None:
    assert run("secrets", "set", "NPM_TOKEN", input="s3cret\n").stdout == "Set secret NPM_TOKEN.\n"
    run("secrets", "set", "PYPI_TOKEN", "--value", "other")
    assert [s["name"] for s in run.json("secrets", "list")] == ["NPM_TOKEN", "PYPI_TOKEN"]
    run("secrets", "delete", "NPM_TOKEN")
    assert "not found" in run("secrets", "delete", "NPM_TOKEN", code=1).stderr
    assert run("secrets", "list").stdout.splitlines()[1].split()[0] == "PYPI_TOKEN"

    assert run.json("teams", "create", "WEB", "--name", "Web")["key"] == "WEB"
    assert [line.split()[0] for line in run("teams", "list").stdout.splitlines()] == [
        "KEY",
        "TY",
        "WEB",
    ]
    task = run.json("tasks", "create", "--title", "T", "--repo", "a/b", "--team", "WEB", "--no-run")
    assert task["key"] == "WEB-1"

    limited = run("teams", "limit", "WEB", "2").stdout.splitlines()
    fields = ["Key", "Slug", "Name", "Tasks", "Limit", "Running", "Queued"]
    assert [line.split(":")[0] for line in limited] == fields
    assert limited[4].split() == ["Limit:", "2"]
    assert run.json("teams", "show", "web")["max_running"] == 2
    assert run.json("teams", "limit", "WEB", "default")["max_running"] is None
    assert "Limit:   none (default)" in run("teams", "show", "WEB").stdout
    header = run("teams", "list").stdout.splitlines()[0].split()
    assert header == [f.upper() for f in fields]
    assert "'many' is not a whole number" in run("teams", "limit", "WEB", "many", code=2).stderr


# A real server and a real agent ----------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """``taskyard serve --port 0`` as a subprocess: API, embedded Temporal and a worker."""
    env = {
        **os.environ,
        "TASKYARD_DATA_DIR": str(tmp_path / "data"),
        "TASKYARD_ADMIN_TOKEN": TOKEN,
        "TASKYARD_SECRET_KEY": "test-secret-key",
        "TASKYARD_ALLOW_UNSANDBOXED": "true",
        "TASKYARD_LOCAL_REPOSITORY_ROOTS": str(tmp_path),
    }
    env.pop("TASKYARD_URL", None)
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("taskyard")), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "taskyard is running at " not in first:
            proc.kill()
            pytest.fail(f"serve did not start: {first}{proc.communicate()[1]}")
        yield first.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _bare_repo(root: Path) -> Path:
    """A bare repository with one commit on ``main``."""
    git = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    bare, seed = root / "remote.git", root / "seed"
    for args in (
        ["init", "-q", "--bare", "-b", "main", str(bare)],
        ["init", "-q", "-b", "main", str(seed)],
    ):
        subprocess.run(["git", *args], check=True, env=git)
    (seed / "README.md").write_text("# demo\n")
    for args in (
        ["add", "."],
        ["commit", "-q", "-m", "initial"],
        ["push", "-q", str(bare), "main"],
    ):
        subprocess.run(["git", *args], cwd=seed, check=True, env=git)
    return bare


@pytest.mark.slow
def test_a_task_runs_to_completion_against_taskyard_serve(live_server: str, tmp_path: Path) -> None:
    run = Cli(live_server)
    repo = str(_bare_repo(tmp_path))
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    (tmp_path / "quick.yaml").write_text(WORKFLOW)
    run("templates", "push", str(tmp_path / "t.yaml"))
    run("workflows", "create", str(tmp_path / "quick.yaml"))

    # Default workflow: Plan (approval) → Code → Review (approval) → Done.
    task = run.json(
        "tasks",
        "create",
        "--title",
        "Say hi",
        "--repo",
        repo,
        "--template",
        "scripted",
        "-",
        input="Write hi.txt\n",
    )
    key = task["key"]
    run("tasks", "wait", key, "--status", "waiting", "--stage", "plan", "--timeout", "90")
    run("tasks", "approve", key, "-m", "go")
    run("tasks", "wait", key, "--status", "waiting", "--stage", "review", "--timeout", "90")
    assert "+hi" in run("tasks", "diff", key).stdout
    run("tasks", "approve", key)
    followed = run("tasks", "events", key, "--follow").stdout
    assert followed.splitlines()[-1].split()[1:3] == ["status", "completed:"]
    done = run.json("tasks", "show", key)
    assert done["status"] == "completed" and done["pull_requests"]

    # One auto stage: create, follow to the end, exit 0.
    quick = run(
        "tasks",
        "create",
        "--title",
        "Quick hi",
        "--repo",
        repo,
        "--template",
        "scripted",
        "--workflow",
        "quick",
        "--follow",
    )
    assert quick.stderr.startswith("Created TY-2: Quick hi")
    assert quick.stdout.splitlines()[-1].split()[1:3] == ["status", "completed:"]
