"""The files a pull request changes, as git says of the stand-in's bare repository."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.support.github.answers import Answer, example, not_found, overlay, page
from tests.support.github.checks import Call
from tests.support.github.repos import known

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn

STATUS = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied"}


def list_files(standin: GitHubStandIn, call: Call) -> Answer:
    name = known(standin, call)
    pull = standin.records.pull(name, call.path["pull_number"])
    if pull is None:
        raise not_found()
    diff = subprocess.run(
        ["git", "diff", "--name-status", "--no-renames", f"{pull.base}...{pull.head}"],
        cwd=standin.root / f"{name}.git",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = []
    for line in diff.splitlines():
        status, _, filename = line.partition("\t")
        values = {"filename": filename, "status": STATUS.get(status[:1], "changed")}
        files.append(overlay(example(standin, "pulls/list-files"), values))
    return Answer(200, *page(call, files))


HANDLERS: dict[str, Callable[[GitHubStandIn, Call], Answer]] = {
    "pulls/list-files": list_files,
}
