"""The habits people bring from ``gh``: options anywhere, login, -o json / -q everywhere,
completion, colour only on a terminal, logs, pulls and --watch.

Against the real API in-process (no engine), as ``test_cli_client.py``.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from taskyard.cli.main import cli
from taskyard.cli.output import colour_on, event_summary
from taskyard.cli.task_view import TASK_FIELDS
from tests.test_sdk import TOKEN, make_app, serve


class Bare:
    """``taskyard`` with only the environment given: no TASKYARD_URL/TOKEN unless set."""

    def __init__(self, config: Path, **env: str) -> None:
        self.env = {"TASKYARD_URL": None, "TASKYARD_TOKEN": None, "TASKYARD_CONFIG": str(config)}
        self.env.update(env)

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input, env=self.env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    def json_lines(self, *args: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in self(*args, "-o", "json").stdout.splitlines()]


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with serve(make_app(tmp_path / "data")) as served:
        yield served


@pytest.fixture
def bare(tmp_path: Path) -> Bare:
    return Bare(tmp_path / "config" / "taskyard.json")


def test_global_options_anywhere_on_the_line(url: str, bare: Bare) -> None:
    for args in (
        ["--url", url, "--token", TOKEN, "tasks", "list"],
        ["tasks", "--url", url, "list", "--token", TOKEN],
        ["tasks", "list", f"--url={url}", "--token", TOKEN],
        ["-o", "json", "tasks", "list", "--url", url, "--token", TOKEN],
    ):
        assert bare(*args).stderr in ("No tasks.\n", ""), args
    assert bare("-o", "json", "tasks", "list", "--url", url, "--token", TOKEN).stdout == "[]\n"
    # The one nearest the end wins.
    assert bare("--token", "ty_bad", "teams", "list", "--url", url, "--token", TOKEN).stdout


def test_login_keeps_url_and_token_in_a_private_file(url: str, bare: Bare, tmp_path: Path) -> None:
    denied = bare("tasks", "list", "--url", url, code=1)
    assert "Run `taskyard login`" in denied.stderr
    assert "Not logged in: Invalid" in bare("login", "--url", url, input="ty_nope\n", code=1).stderr
    logged = bare("login", "--url", url, input=TOKEN + "\n")
    config = tmp_path / "config" / "taskyard.json"
    assert logged.stdout == f"Logged in to {url}; saved in {config}.\n"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": url, "token": TOKEN}
    assert bare("-q", "teams", "list").stdout == "TY\n"

    # The environment and the options win over the file.
    elsewhere = Bare(config, TASKYARD_URL="http://127.0.0.1:9")
    assert (
        "Cannot reach taskyard at http://127.0.0.1:9" in elsewhere("teams", "list", code=1).stderr
    )
    assert bare("teams", "list", "--token", "ty_wrong", code=1).stderr.startswith("Error: Invalid")

    config.write_text("{not json")
    assert "run `taskyard logout`" in bare("teams", "list", code=1).stderr
    assert bare("logout").stdout == f"Removed {config}.\n"
    assert bare("logout").stdout == "Not logged in: nothing to forget.\n"


def test_json_and_quiet_on_every_kind_of_command(url: str, bare: Bare) -> None:
    run = Bare(bare.env["TASKYARD_CONFIG"] or "", TASKYARD_URL=url, TASKYARD_TOKEN=TOKEN)
    created = run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run", "-q")
    assert created.stdout == "TY-1\n"
    assert run("tasks", "list", "-q").stdout == "TY-1\n"
    assert run("tasks", "show", "TY-1", "-q").stdout == "TY-1\n"
    assert run("tasks", "cancel", "-q", "TY-1").stdout == "TY-1\n"
    assert run("tasks", "cancel", "TY-1", "-o", "json", code=1).stdout == ""
    assert json.loads(run("tasks", "diff", "TY-1", "-o", "json").stdout) == {
        "key": "TY-1",
        "diff": "",
    }
    assert json.loads(run("tasks", "pulls", "TY-1", "-o", "json").stdout) == []
    assert run("tasks", "pulls", "TY-1").stderr == "No pull requests.\n"
    ids = run("tasks", "events", "TY-1", "-q").stdout.split()
    assert ids == [str(e["id"]) for e in run.json_lines("tasks", "events", "TY-1")]

    assert (
        json.loads(run("secrets", "set", "S", "--value", "v", "-o", "json").stdout)["name"] == "S"
    )
    assert run("secrets", "delete", "S", "-q").stdout == "S\n"
    assert json.loads(run("workflows", "default", "default", "-o", "json").stdout)["default"]
    assert run("workflows", "list", "-q").stdout == "default\n"
    assert json.loads(run("users", "create", "ada", "-o", "json").stdout)["username"] == "ada"
    assert run("users", "list", "-q").stdout == "admin\nada\n"


def test_logs_and_tail(url: str, bare: Bare) -> None:
    run = Bare(bare.env["TASKYARD_CONFIG"] or "", TASKYARD_URL=url, TASKYARD_TOKEN=TOKEN)
    run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    assert run("tasks", "logs", "TY-1").stdout == ""
    assert run("tasks", "logs", "TY-1", "--tail", "0").stdout == ""
    assert "Usage" in run("tasks", "logs", "TY-1", "--tail", "-1", code=2).stderr


def test_completion_scripts_and_task_keys(url: str, bare: Bare) -> None:
    run = Bare(bare.env["TASKYARD_CONFIG"] or "", TASKYARD_URL=url, TASKYARD_TOKEN=TOKEN)
    for shell, marker in (
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --no-files --command taskyard"),
    ):
        assert marker in run("completion", shell).stdout
    run("completion", "tcsh", code=2)
    run("tasks", "create", "--title", "Fix the cart", "--repo", "acme/shop", "--no-run")
    env = {
        **run.env,
        "_TASKYARD_COMPLETE": "bash_complete",
        "COMP_WORDS": "taskyard tasks show ty",
        "COMP_CWORD": "3",
    }
    completed = CliRunner().invoke(cli, [], env=env, prog_name="taskyard")
    assert "plain,TY-1" in completed.stdout
    env["COMP_WORDS"], env["TASKYARD_URL"] = "taskyard tasks show ", "http://127.0.0.1:9"
    assert CliRunner().invoke(cli, [], env=env, prog_name="taskyard").stdout.strip() == ""


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    with open(os.devnull, "w") as devnull:
        assert colour_on(Tty()) and not colour_on(devnull)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_on(Tty())


def test_a_status_whose_message_names_it_is_shown_once() -> None:
    queued = {"status": "queued", "message": "queued: 2 ahead of you"}
    assert event_summary({"kind": "status", "data": queued}) == "queued: 2 ahead of you"
    working = {"status": "working", "message": "Code: agent working"}
    assert event_summary({"kind": "status", "data": working}) == "working: Code: agent working"
    status = dict(TASK_FIELDS)["Status"]
    assert callable(status)
    assert status({"status": "queued", "status_message": "queued: 0 ahead of you"}) == (
        "queued: 0 ahead of you"
    )
    assert status({"status": "working", "status_message": "Code"}) == "working (Code)"
    assert status({"status": "queued", "status_message": ""}) == "queued"


def test_list_watch_redraws_until_interrupted(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TASKYARD_URL": url, "TASKYARD_TOKEN": TOKEN}
    env["TASKYARD_CONFIG"] = str(tmp_path / "none.json")
    Bare(tmp_path / "none.json", TASKYARD_URL=url, TASKYARD_TOKEN=TOKEN)(
        "tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run"
    )
    taskyard = str(Path(sys.executable).with_name("taskyard"))
    watching = subprocess.Popen(
        [taskyard, "tasks", "list", "--watch", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watching.stdout is not None
    headers = 0
    for line in watching.stdout:
        headers += line.startswith("KEY")
        if headers == 2:  # drawn, then drawn again
            break
    watching.send_signal(signal.SIGINT)
    assert watching.wait(30) == 0
    watching.stdout.close()


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command with stdout and stderr on a pseudo-terminal; its code and output."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(30), b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_colour_and_a_live_status_line(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TASKYARD_URL": url, "TASKYARD_TOKEN": TOKEN, "TERM": "xterm"}
    env["TASKYARD_CONFIG"] = str(tmp_path / "none.json")
    env.pop("NO_COLOR", None)
    run = Bare(tmp_path / "none.json", TASKYARD_URL=url, TASKYARD_TOKEN=TOKEN)
    for _ in range(2):
        run("tasks", "create", "--title", "T", "--repo", "acme/shop", "--no-run")
    run("tasks", "cancel", "TY-2")  # a status with a colour
    taskyard = str(Path(sys.executable).with_name("taskyard"))
    code, shown = _on_a_terminal([taskyard, "tasks", "list"], env)
    assert code == 0 and "\x1b[" in shown and "TY-1" in shown
    code, plain = _on_a_terminal([taskyard, "tasks", "list"], {**env, "NO_COLOR": "1"})
    assert code == 0 and "\x1b[" not in plain and "TY-1" in plain

    code, waited = _on_a_terminal([taskyard, "tasks", "wait", "TY-1", "--timeout", "1"], env)
    assert code == 5 and "TY-1 is queued at" in waited and "(0s)" in waited
    assert "Timed out waiting for the task." in waited
