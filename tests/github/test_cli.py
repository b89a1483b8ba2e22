"""``taskyard github triggers`` through click's runner, against the real API on loopback."""

from __future__ import annotations

from tests.cli.test_cli_client import Cli, run

__all__ = ["run"]  # the fixture: a CLI against an in-process API


def test_triggers_are_added_listed_and_removed(run: Cli) -> None:
    assert "No GitHub triggers" in run("github", "triggers", "list").stderr
    added = run("github", "triggers", "add", "acme/shop", "label")
    assert added.stdout == "Trigger 1: label taskyard on acme/shop.\n"
    paths = ("--path", "docs/**", "--path", "*.md", "--team", "TY")
    run("github", "triggers", "add", "acme/shop", "paths", *paths)
    found = run.json("github", "triggers", "list", "--repository", "acme/shop")
    assert [(t["kind"], t["value"], t["paths"]) for t in found] == [
        ("label", "taskyard", []),
        ("paths", "", ["docs/**", "*.md"]),
    ]
    rows = [line.split()[:4] for line in run("github", "triggers", "list").stdout.splitlines()]
    assert rows[1:] == [
        ["1", "acme/shop", "label", "taskyard"],
        ["2", "acme/shop", "paths", "docs/**,"],
    ]
    bad = run("github", "triggers", "add", "acme/shop", "paths", "--path", "src/[x", code=1)
    assert "opens '[' without closing it" in bad.stderr
    assert "Invalid value" in run("github", "triggers", "add", "acme/shop", "labels", code=2).stderr
    assert run("github", "triggers", "remove", "1").stdout == "Trigger 1 removed.\n"
    assert "No GitHub trigger 1" in run("github", "triggers", "remove", "1", code=1).stderr
