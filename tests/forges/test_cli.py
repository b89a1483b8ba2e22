"""``taskyard forges`` through click's runner, against the real API on loopback."""

from __future__ import annotations

from tests.cli.test_cli_client import Cli, run

__all__ = ["run"]  # the fixture: a CLI against an in-process API


def test_forges_are_shown_set_and_unset(run: Cli) -> None:
    shown = run("forges", "show")
    assert shown.stdout.splitlines()[1].split() == [
        "(default)",
        "github",
        "(forge",
        "default)",
        "(forge",
        "default)",
    ]
    assert shown.stderr == "Forges this server knows: github, local.\n"

    # The server's credentials go to a site's URLs: only to origins its operator allows.
    refused = run("forges", "set-default", "github", "--url", "https://git.example.com", code=1)
    assert "TASKYARD_FORGE_ORIGINS" in refused.stderr
    done = run("forges", "set-default", "github", "--url", "https://GitHub.com/")
    assert done.stdout == "Repositories are on github https://GitHub.com.\n"
    run("forges", "set", "acme/legacy", "github", "--api-url", "https://api.github.com")
    found = run.json("forges", "show")
    assert found["default"]["url"] == "https://GitHub.com"
    assert found["repositories"] == [
        {
            "repository": "acme/legacy",
            "kind": "github",
            "url": "",
            "api_url": "https://api.github.com",
        }
    ]
    rows = [line.split() for line in run("forges", "show").stdout.splitlines()[1:]]
    assert rows == [
        ["(default)", "github", "https://GitHub.com", "(forge", "default)"],
        ["acme/legacy", "github", "(forge", "default)", "https://api.github.com"],
    ]

    refused = run("forges", "set", "acme/legacy", "gitlab", code=1)
    assert "Unknown forge 'gitlab'" in refused.stderr
    assert "is not 'owner/name'" in run("forges", "unset", "legacy", code=2).stderr
    assert run("forges", "unset", "acme/legacy").stdout == "acme/legacy is on the default forge.\n"
    assert "has no forge of its own" in run("forges", "unset", "acme/legacy", code=1).stderr
