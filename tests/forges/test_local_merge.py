"""Merging a local forge's pull request: a merge commit made without a working tree,
refused (409, saying why) when it cannot be made safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskyard.forges.local import merge
from taskyard.model.errors import Conflict
from tests.conftest import git


def _commit(work: Path, name: str, text: str, branch: str) -> str:
    git("checkout", "--quiet", "-B", branch, cwd=work)
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("commit", "--quiet", "-m", f"{branch}: {name}", cwd=work)
    git("push", "--quiet", "--force", "origin", branch, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


@pytest.fixture
def work(remote_repo: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "work"
    git("clone", "--quiet", str(remote_repo), str(clone))
    return clone


def test_merge_makes_a_merge_commit_on_the_base(remote_repo: Path, work: Path) -> None:
    head = _commit(work, "hello.txt", "hello\n", "feature")
    git("checkout", "--quiet", "main", cwd=work)
    base = _commit(work, "other.txt", "other\n", "main")
    merged = merge(remote_repo, "main", "feature", head, "Merge feature", "ada")
    assert git("rev-parse", "main", cwd=remote_repo).strip() == merged
    assert git("log", "-1", "--format=%P|%an|%s", merged, cwd=remote_repo).strip() == (
        f"{base} {head}|ada|Merge feature"
    )
    assert git("show", "main:hello.txt", cwd=remote_repo) == "hello\n"
    # Merging again changes nothing.
    assert merge(remote_repo, "main", "feature", head, "again", "ada") == merged


def test_merge_refuses_a_moved_branch_and_conflicts(remote_repo: Path, work: Path) -> None:
    head = _commit(work, "app.py", "print('feature')\n", "feature")
    with pytest.raises(Conflict, match="as taskyard pushed it"):
        merge(remote_repo, "main", "feature", "0" * 40, "m", "ada")
    git("checkout", "--quiet", "main", cwd=work)
    _commit(work, "app.py", "print('main')\n", "main")
    before = git("rev-parse", "main", cwd=remote_repo)
    with pytest.raises(Conflict, match=r"does not merge cleanly .*app\.py"):
        merge(remote_repo, "main", "feature", head, "m", "ada")
    with pytest.raises(Conflict, match="'nope' is not in"):
        merge(remote_repo, "nope", "feature", head, "m", "ada")
    assert git("rev-parse", "main", cwd=remote_repo) == before


def test_merge_leaves_a_checked_out_base_alone(work: Path) -> None:
    head = _commit(work, "hello.txt", "hello\n", "feature")
    git("checkout", "--quiet", "main", cwd=work)
    with pytest.raises(Conflict, match="checked out"):
        merge(work, "main", "feature", head, "m", "ada")
