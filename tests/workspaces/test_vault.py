"""The vault's checks of an exported snapshot: what a checkout may be rebuilt from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.conftest import git

from taskyard.config import Settings
from taskyard.model.forge import GitRemote
from taskyard.workspaces import vault
from taskyard.workspaces.snapshot import Snapshot


def _commit(work: Path, name: str, *parents: str) -> str:
    (work / name).write_text(f"{name}\n")
    git("add", name, cwd=work)
    tree = git("write-tree", cwd=work).strip()
    args = [arg for parent in parents for arg in ("-p", parent)]
    return git("commit-tree", tree, *args, "-m", name, cwd=work).strip()


def _pack(work: Path, *heads: str, base: str) -> bytes:
    revs = "".join(f"{h}\n" for h in heads) + f"^{base}\n"
    return subprocess.run(
        ["git", "pack-objects", "--stdout", "--revs", "--thin", "-q"],
        cwd=work,
        input=revs.encode(),
        capture_output=True,
        check=True,
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A work repository with a base commit, and a mirror holding only the base."""
    work = tmp_path / "work"
    git("init", "-q", "--initial-branch=main", str(work))
    base = _commit(work, "base")
    git("update-ref", "refs/heads/main", base, cwd=work)
    git("clone", "-q", "--mirror", str(work), str(tmp_path / "mirror.git"))
    return work, base


async def _import(settings: Settings, tmp_path: Path, snapshot: Snapshot, base: str) -> str:
    store = await vault.open_vault(tmp_path / "mirror.git", settings)
    return await vault.import_snapshot(store, snapshot, base, "refs/taskyard/1/TY-1/live")


async def test_the_branch_may_be_the_head_or_its_parent(
    settings: Settings, tmp_path: Path, repo: tuple[Path, str]
) -> None:
    work, base = repo
    agent = _commit(work, "agent", base)
    head = _commit(work, "wip", agent)
    pack = _pack(work, head, base=base)
    assert await _import(settings, tmp_path, Snapshot(head, agent, pack), base) == head
    assert await _import(settings, tmp_path, Snapshot(head, head, pack), base) == head


@pytest.mark.parametrize("claim", ["unrelated", "missing", "child"])
async def test_a_branch_outside_base_to_head_is_refused(
    settings: Settings, tmp_path: Path, repo: tuple[Path, str], claim: str
) -> None:
    """A checkout rebuilt from a snapshot puts its branch there: it must be the agent's
    own history between the base and the head, never anything the pack happens to hold."""
    work, base = repo
    head = _commit(work, "wip", base)
    unrelated = _commit(work, "orphan")
    child = _commit(work, "later", head)
    agent = {"unrelated": unrelated, "missing": "1" * 40, "child": child}[claim]
    pack = _pack(work, head, unrelated, child, base=base)
    with pytest.raises(vault.WorkRejected, match="not between the base"):
        await _import(settings, tmp_path, Snapshot(head, agent, pack), base)


async def test_an_unchanged_branch_must_be_at_the_base(
    settings: Settings, tmp_path: Path, repo: tuple[Path, str]
) -> None:
    _, base = repo
    with pytest.raises(vault.WorkRejected, match="not at the exported head"):
        await _import(settings, tmp_path, Snapshot(base, "2" * 40, b""), base)


async def test_a_push_lands_only_where_taskyard_left_the_branch(
    settings: Settings, tmp_path: Path, repo: tuple[Path, str]
) -> None:
    work, base = repo
    first = _commit(work, "first", base)
    rewritten = _commit(work, "rewritten", base)  # the agent rewrote its branch
    pack = _pack(work, first, rewritten, base=base)
    store = await vault.open_vault(tmp_path / "mirror.git", settings)
    await vault.import_snapshot(store, Snapshot(first, first, pack), base, "refs/taskyard/w")
    await vault.import_snapshot(store, Snapshot(rewritten, rewritten, pack), base, "refs/t/r")
    remote = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(remote))
    target = GitRemote(str(remote))
    branch = "taskyard/TY-1-fix"

    await vault.push(store, first, target, branch, "")
    await vault.push(store, first, target, branch, "")  # a retry after it landed
    with pytest.raises(vault.BranchMoved, match="someone else pushed"):
        await vault.push(store, rewritten, target, branch, "")  # it exists: not ours to take
    await vault.push(store, rewritten, target, branch, first)  # taskyard's own commit: replaced
    assert git("rev-parse", branch, cwd=remote).strip() == rewritten

    person = tmp_path / "person"
    git("clone", "-q", "--branch", branch, str(remote), str(person))
    theirs = _commit(person, "theirs", rewritten)
    git("push", "-q", "origin", f"{theirs}:refs/heads/{branch}", cwd=person)
    with pytest.raises(vault.BranchMoved, match=f"is at {theirs[:12]}, not at {rewritten[:12]}"):
        await vault.push(store, first, target, branch, rewritten)
    assert git("rev-parse", branch, cwd=remote).strip() == theirs  # nothing overwritten
