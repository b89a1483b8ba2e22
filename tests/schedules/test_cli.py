"""``taskyard schedules`` through click's runner, against the real server on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli_client import Cli
from tests.conftest import ADMIN_TOKEN
from tests.schedules.conftest import poll
from tests.support.server import RunningServer


def test_schedules_are_added_run_paused_and_removed(
    server: RunningServer, waiting: str, remote_repo: Path
) -> None:
    run = Cli(server.url, ADMIN_TOKEN)
    assert "No schedules" in run("schedules", "list").stderr
    added = run(
        "schedules",
        "add",
        "deps",
        "0 9 * * MON",
        "--title",
        "Update dependencies",
        "--repository",
        str(remote_repo),
        "--prompt",
        "Bump what is outdated",
        "--template",
        waiting,
        "--time-zone",
        "Europe/Paris",
    )
    assert added.stdout == "Schedule deps: 0 9 * * MON (Europe/Paris).\n"
    bad = run("schedules", "add", "x", "0 9 * *", "--title", "t", "--repository", "a/b", code=1)
    assert "has 4 fields" in bad.stderr
    assert (
        "Unknown time zone"
        in run("schedules", "update", "deps", "--time-zone", "Nowhere", code=1).stderr
    )
    rows = [line.split()[:5] for line in run("schedules", "list").stdout.splitlines()]
    assert rows[1] == ["deps", "0", "9", "*", "*"]

    assert "fired" in run("schedules", "run", "deps").stdout
    shown = poll(lambda: run.json("schedules", "show", "deps")["runs"], "the run")
    assert shown[0]["outcome"] == "created"
    server.wait_for(shown[0]["task"], "waiting")
    text = run("schedules", "show", "deps").stdout
    assert "FIRED AT" in text and shown[0]["task"] in text and "created" in text

    assert run("schedules", "pause", "deps").stdout == "Schedule deps paused.\n"
    assert run.json("schedules", "show", "deps")["paused"] is True
    assert run("schedules", "resume", "deps").stdout == "Schedule deps resumed.\n"
    assert run("schedules", "remove", "deps").stdout == "Schedule deps removed.\n"
    assert "not found" in run("schedules", "show", "deps", code=1).stderr
