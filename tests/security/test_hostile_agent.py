"""A hostile agent, end to end: everything it plants in its checkout stays data.

Each attack is what an agent (or a prompt-injected one) can do from inside its
sandbox: plant git config keys that name programs or paths, hooks, filters,
alternates, a worktree elsewhere, links. Every payload writes a marker file into
a host directory the sandbox sees read-only, so a marker can only appear if the
server ran the payload on the host. The task must deliver only what the agent
meant to change, the server's files must stay out of reach, and no marker may
appear.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskyard.config import Settings, get_settings
from tests.support.server import RunningServer

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

HOST_ONLY = "host-only-content-never-readable-by-the-sandbox"
ORG_SECRET = "org-secret-value-5f2a9c7e"

# Config keys that name a program (or a path git reads) and the hooks git fires on
# its own: each payload leaves a marker named after its vector.
CONFIG_VECTORS = {
    "core.fsmonitor": "{run}",
    "core.hooksPath": "{hooks}",
    "core.pager": "{run}",
    "core.editor": "{run}",
    "core.askPass": "{run}",
    "core.sshCommand": "{run}",
    "core.alternateRefsCommand": "{run}",
    "core.gitProxy": "{run}",
    "core.worktree": "{hostdir}",
    "diff.external": "{run}",
    "diff.evil.textconv": "{run}",
    "diff.evil.command": "{run}",
    "filter.evil.clean": "{run}",
    "filter.evil.smudge": "{run}",
    "filter.evil.process": "{run}",
    "filter.evil.required": "true",
    "merge.evil.driver": "{run}",
    "credential.helper": "!{run}",
    "gpg.program": "{run}",
    "gpg.ssh.program": "{run}",
    "commit.gpgSign": "true",
    "tag.gpgSign": "true",
    "sequence.editor": "{run}",
    "remote.origin.uploadpack": "{run}",
    "remote.origin.receivepack": "{run}",
    "uploadpack.packObjectsHook": "{run}",
    "include.path": "{included}",
    "status.showUntrackedFiles": "all",
    "gc.auto": "1",
    "http.proxy": "http://127.0.0.1:9",
}
HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-push",
    "pre-auto-gc",
    "post-rewrite",
    "pre-receive",
    "update",
    "post-receive",
    "post-update",
    "push-to-checkout",
    "fsmonitor-watchman",
)


@pytest.fixture
def marks() -> Iterator[Path]:
    """A host directory the sandbox sees read-only: markers here ran on the host."""
    path = Path(tempfile.mkdtemp(prefix="taskyard-marks-", dir="/var/tmp"))
    path.chmod(0o755)
    (path / "victim").write_text("untouched\n")
    hostdir = path / "hostdir"
    hostdir.mkdir()
    (hostdir / "root-only.txt").write_text(HOST_ONLY)
    (hostdir / "root-only.txt").chmod(0o600)
    (path / "included.cfg").write_text(f'[core]\n\tfsmonitor = "echo x > {path}/ran-include"\n')
    yield path
    shutil.rmtree(path)


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Outside /tmp on purpose (the sandbox has a /tmp of its own, which would hide a
    data directory there whatever the provider does), and hidden as in production."""
    data = Path(tempfile.mkdtemp(prefix="taskyard-attacked-", dir="/var/tmp"))
    monkeypatch.setenv("TASKYARD_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield settings.model_copy(update={"data_dir": data, "allow_unsandboxed": False})
    get_settings.cache_clear()
    shutil.rmtree(data, ignore_errors=True)


def _plant(marks: Path, data: Path) -> str:
    """Shell that plants every vector in the checkout (as the agent, in its sandbox)."""
    lines = ["mkdir -p .evilhooks"]
    for key, value in CONFIG_VECTORS.items():
        run = f"sh -c 'echo ran > {marks}/ran-{key}'; false"
        value = value.format(
            run=run,
            hooks="$PWD/.evilhooks",
            hostdir=marks / "hostdir",
            included=marks / "included.cfg",
        )
        lines.append(f'git config --add {key} "{value}"')
    for hook in HOOKS:
        for folder in (".git/hooks", ".evilhooks"):
            lines.append(
                f"printf '#!/bin/sh\\necho ran > {marks}/ran-hook-{hook}\\n' > {folder}/{hook}"
            )
            lines.append(f"chmod +x {folder}/{hook}")
    lines += [
        "printf '* filter=evil diff=evil merge=evil\\n' > .gitattributes",
        # Mount decisions: the data directory (database, secrets) as borrowed objects.
        f"echo {data} >> .git/objects/info/alternates",
        f"echo {data}/mirrors >> .git/objects/info/alternates",
        # Links the server used to write through.
        f"ln -sf {marks}/victim .git/taskyard-setup-done",
        f"ln -sf {marks}/victim $HOME/.gitconfig",
        "echo planted",
    ]
    return "\n".join(lines)


def _probe(data: Path) -> str:
    """Shell that tries to read what the plants were meant to expose."""
    return "\n".join(
        [
            "echo uid=$(id -u)",
            f"echo listing: $(ls -a {data})",
            f"cat {data}/taskyard.db {data}/secret.key 2>&1 | head -c 200; echo",
            "cat /etc/shadow 2>&1 | head -c 100; echo",
            "echo fixed > fix.txt",
        ]
    )


def _template(marks: Path, data: Path) -> str:
    script = (
        f'if [ "$TASKYARD_STAGE" = plant ]; then\n{_plant(marks, data)}\nelse\n{_probe(data)}\nfi'
    )
    body = "\n".join("    " + line for line in script.splitlines())
    return (
        "name: hostile\nsandbox: bubblewrap\nnetwork: {policy: none}\n"
        f"setup: echo setup ran\nagent:\n  kind: command\n  command: |\n{body}\n"
    )


@pytest.mark.parametrize("rebuilt", [False, True], ids=["kept", "rebuilt"])
def test_git_vectors_plants_and_links_stay_inside_the_sandbox(
    server: RunningServer, remote_repo: Path, marks: Path, rebuilt: bool
) -> None:
    """``rebuilt``: the code stage finds no mark (as on a worker the task moved to), so
    its checkout is rebuilt by the server's git from the plant stage's checkpoint."""
    data = server.settings.data_dir
    http = server.http
    assert http.put("/api/v1/secrets/API_TOKEN", json={"value": ORG_SECRET}).status_code < 300
    response = http.post(
        "/api/v1/templates",
        content=_template(marks, data),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    workflow = {
        "name": "attack",
        "stages": [
            {"key": "plant", "agent": {}, "gate": "approval"},
            {"key": "code", "agent": {}, "deliver": True},
        ],
    }
    assert http.post("/api/v1/workflows", json=workflow).status_code == 201
    key = server.create_task(
        title="Fix it", repository=str(remote_repo), template="hostile", workflow="attack"
    )["key"]
    server.wait_for(key, "waiting", stage="plant", timeout=90)

    # The diff view used to run git on the planted checkout, for any read-only token.
    reader = http.post("/api/v1/tokens", json={"name": "reader", "scopes": ["tasks:read"]})
    assert reader.status_code == 201, reader.text
    server.published_diff(key)
    live = http.get(
        f"/api/v1/tasks/{key}/diff",
        headers={"Authorization": f"Bearer {reader.json()['token']}"},
    )
    assert live.status_code == 200, live.text
    assert ".gitattributes" in live.text and HOST_ONLY not in live.text

    if rebuilt:
        shutil.rmtree(data / "marks")
    assert http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    task = server.wait_for(key, "completed", "failed", timeout=90)
    assert task["status"] == "completed", task["status_message"]

    output = "\n".join(
        e["data"]["line"] for e in server.events(key) if e["kind"] in ("output", "setup")
    )
    assert "planted" in output and "setup ran" in output
    uid = next(line for line in output.splitlines() if line.startswith("uid="))
    assert uid != "uid=0"
    listing = next(line for line in output.splitlines() if line.startswith("listing:"))
    # Only the mount points of what the sandbox may see (its checkout, home and
    # mirror objects), never the database, the key, the vault or other tasks.
    assert set(listing.split()[1:]) <= {".", "..", "checkouts", "homes", "mirrors"}
    assert "SQLite format" not in output and "No such file" in output
    assert "Permission denied" in output  # /etc/shadow
    assert ORG_SECRET not in output

    # Nothing ran on the host, and nothing was written through a link.
    assert sorted(p.name for p in marks.iterdir()) == ["hostdir", "included.cfg", "victim"]
    assert (marks / "victim").read_text() == "untouched\n"

    # Delivered: the agent's files, nothing of the host's.
    pull = http.get(f"/api/v1/tasks/{key}/pulls").json()[-1]
    patch = http.get(f"/api/v1/tasks/{key}/diff").text
    assert "fix.txt" in patch and HOST_ONLY not in patch
    assert pull["files_changed"] >= 2  # fix.txt, .gitattributes, .evilhooks/*
    from tests.conftest import git

    files = git("ls-tree", "-r", "--name-only", pull["head_sha"], cwd=remote_repo).split()
    assert "fix.txt" in files and "root-only.txt" not in files
    assert not any(name.startswith(".git/") for name in files)
    config = (data / "checkouts" / "1" / key / ".git" / "config").read_text()
    # A rebuilt checkout is a fresh one: the planted config stayed in the old.
    assert ("evil" in config) is not rebuilt
