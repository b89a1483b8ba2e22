"""``taskyard intake`` through click's runner, against the real API on loopback."""

from __future__ import annotations

from tests.cli.test_cli_client import Cli, run

from taskyard.cli.output import event_summary

__all__ = ["run"]  # the fixture: a CLI against an in-process API


def test_sources_are_added_listed_shown_and_removed(run: Cli) -> None:
    assert "No intake sources" in run("intake", "list").stderr
    added = run("intake", "add", "support", "Helpdesk", "--repository", "acme/shop",
                "--slug", "helpdesk")  # fmt: skip
    first, second = added.stdout.splitlines()
    assert first == "Intake source helpdesk: send deliveries to /webhooks/intake/helpdesk."
    assert second.startswith("Its secret (shown this once): ") and len(second) > 60
    mapped = run.json("intake", "add", "webhook", "Alerts", "--repository", "acme/ops",
                      "--map", "title=$.alert.title", "--map", "dedup_key=$.alert.id")  # fmt: skip
    assert mapped["mapping"] == {"title": "$.alert.title", "dedup_key": "$.alert.id"}
    rows = [line.split()[:2] for line in run("intake", "list").stdout.splitlines()]
    assert rows[1:] == [["helpdesk", "support"], [mapped["slug"], "webhook"]]
    shown = run.json("intake", "show", "helpdesk")
    assert shown["kind"] == "support" and "secret" not in shown
    bad = run("intake", "add", "webhook", "Bad", "--repository", "a/b", "--map", "owner=$.x",
              code=2)  # fmt: skip
    assert "FIELD one of title" in bad.stderr
    unreadable = run("intake", "add", "webhook", "Bad", "--repository", "a/b",
                     "--map", "title=$.a..b", code=1)  # fmt: skip
    assert "is not a path taskyard reads" in unreadable.stderr
    assert "needs 'secret'" in run("intake", "add", "sentry", "S", "--repository", "a/b",
                                   code=1).stderr  # fmt: skip
    assert run("intake", "remove", "helpdesk").stdout == "Intake source helpdesk removed.\n"
    assert "No intake source 'helpdesk'" in run("intake", "remove", "helpdesk", code=1).stderr


def test_a_repeat_reads_as_one_line_in_the_event_log() -> None:
    event = {"kind": "intake", "data": {"source": "errors", "count": 3, "title": "Fix: x"}}
    assert event_summary(event) == "again from errors (3 in all)"
