"""Every shell command in README.md and docs/cli.md runs, in order, against a real server.

The fenced ``sh`` blocks are extracted and run with bash, as a reader would paste them:
from a directory holding the checkout's ``bin/`` and ``examples/``, with a fresh ``HOME``
and a ``PATH`` that has neither uv nor the project's environment on it. The only change
made to them is the server's address (the tests' server listens on a random port). The
``make`` lines are the install path, which ``tests/test_install.py`` runs.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/cli.md")
BLOCK = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.M | re.S)
DOCUMENTED_URL = "http://127.0.0.1:8420"


def shell_blocks(document: str) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer((ROOT / document).read_text())]


def test_the_documents_have_shell_blocks() -> None:
    assert all(shell_blocks(d) for d in DOCUMENTS)
    readme = shell_blocks("README.md")
    assert readme[0].startswith("make run") and "taskyard quickstart" in readme[1]


@pytest.mark.slow
def test_every_documented_command_runs(server: RunningServer, tmp_path: Path) -> None:
    work, home = tmp_path / "checkout", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    for name in ("bin", "examples"):
        (work / name).symlink_to(ROOT / name)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    ran: list[str] = []
    exported: list[str] = []  # one terminal: what an earlier block exported still holds
    for document in DOCUMENTS:
        for block in shell_blocks(document):
            lines = [
                line.replace(DOCUMENTED_URL, server.url)
                for line in block.splitlines()
                if line.strip() and not line.startswith("make ")
            ]
            if not lines:
                continue
            script = "\n".join(["set -euo pipefail", *exported, "set -x", *lines, ""])
            exported += [line for line in lines if line.startswith("export ")]
            # `taskyard login` reads the token from stdin, as it does in a pipe.
            done = subprocess.run(
                ["/bin/bash", "-c", script],
                cwd=work,
                env=env,
                input=ADMIN_TOKEN + "\n",
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, (
                f"{document}:\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
            )
            ran += lines
    assert any("quickstart" in line for line in ran) and len(ran) >= 15
    task = server.task("TY-2")
    assert task["status"] == "completed" and task["pull_requests"]
    config = home / ".config" / "taskyard" / "config.json"
    assert config.stat().st_mode & 0o077 == 0
