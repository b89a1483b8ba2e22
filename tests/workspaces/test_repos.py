"""Mirrors and task checkouts, against real git: fetch coalescing, idempotency, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import git

from taskyard.agents.registry import private_files
from taskyard.config import Settings
from taskyard.model.forge import GitRemote
from taskyard.workspaces import pool
from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.git import GitError
from taskyard.workspaces.pool import PRIVATE_FILES
from taskyard.workspaces.repos import (
    create_checkout,
    ensure_mirror,
    maintain_mirrors,
    mirror_path,
)


def make_settings(tmp_path: Path, pool_size: int = 0) -> Settings:
    return Settings(data_dir=tmp_path / "data", checkout_pool_size=pool_size)


def push_commit(remote: Path, name: str, content: str = "x\n") -> str:
    """Add ``name`` on the remote's ``main`` in a new commit; returns its sha."""
    work = remote.parent / "pusher"
    if not work.exists():
        git("clone", "--quiet", str(remote), str(work))
    git("pull", "--quiet", "--ff-only", cwd=work)
    (work / name).write_text(content)
    git("add", name, cwd=work)
    git("commit", "--quiet", "-m", f"add {name}", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def tip(remote: Path) -> str:
    return git("rev-parse", "main", cwd=remote).strip()


@pytest.fixture(autouse=True)
def _refills_end() -> Iterator[None]:
    # Refills run in threads; none may outlive the test that started it.
    yield
    pool.wait_refills(60)


def mirror_fetches(log: Path) -> int:
    """Fetches of a mirror from its remote (not a checkout's local catch-up)."""
    return sum(
        1
        for line in log.read_text().splitlines()
        if line.split(" ", 1)[0].endswith(".git") and " fetch " in f"{line} "
    )


async def test_a_checkout_is_on_its_branch_at_the_base_tip(
    tmp_path: Path, remote_repo: Path
) -> None:
    settings = make_settings(tmp_path)
    dest = settings.checkouts_dir / "TY-1"
    base, start = await create_checkout(
        GitRemote(str(remote_repo)),
        "taskyard/ty-1",
        "",
        dest,
        settings,
        private_files=private_files(),
    )
    assert (base, start) == ("main", tip(remote_repo))
    # The agent owns its checkout from here on; the server runs no git in it.
    owner = sandbox_ids()
    if owner is not None:
        assert {(p.stat().st_uid, p.stat().st_gid) for p in [dest, *dest.rglob("*")]} == {owner}
    assert git("symbolic-ref", "HEAD", cwd=dest).strip() == "refs/heads/taskyard/ty-1"
    assert git("rev-parse", "HEAD", "main", cwd=dest).split() == [tip(remote_repo)] * 2
    assert git("rev-parse", "--abbrev-ref", "@{upstream}", cwd=dest).strip() == "origin/main"
    assert git("status", "--porcelain", "--ignored", cwd=dest) == ""
    # The plan and every agent's own files (Aider's repository map) are never committed.
    assert (dest / ".git" / "info" / "exclude").read_text() == "".join(
        f"/{name}\n" for name in [*PRIVATE_FILES, ".aider.tags.cache.v4"]
    )
    mirror = mirror_path(str(remote_repo), settings)
    assert git("remote", "get-url", "origin", cwd=dest).strip() == str(mirror)
    assert (dest / "app.py").read_text() == "print('hello')\n"
    assert not dest.with_name("TY-1.partial").exists()


async def test_a_retried_checkout_keeps_the_agents_work_and_fetches_nothing(
    tmp_path: Path, remote_repo: Path, fetch_log: Path
) -> None:
    settings = make_settings(tmp_path)
    dest = settings.checkouts_dir / "TY-1"
    await create_checkout(GitRemote(str(remote_repo)), "taskyard/ty-1", "", dest, settings)
    (dest / "app.py").write_text("print('changed by the agent')\n")
    push_commit(remote_repo, "later.txt")
    again = await create_checkout(
        GitRemote(str(remote_repo)), "taskyard/ty-1", "main", dest, settings
    )
    assert again == ("main", "")
    assert mirror_fetches(fetch_log) == 0
    # Without the base (it was never recorded), the mirror tells it.
    assert await create_checkout(
        GitRemote(str(remote_repo)), "taskyard/ty-1", "", dest, settings
    ) == (
        "main",
        "",
    )
    assert (dest / "app.py").read_text() == "print('changed by the agent')\n"
    assert not (dest / "later.txt").exists()


async def test_a_missing_base_branch_says_so(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=2)
    dest = settings.checkouts_dir / "TY-1"
    with pytest.raises(GitError, match="Base branch 'nope' not found"):
        await create_checkout(GitRemote(str(remote_repo)), "taskyard/ty-1", "nope", dest, settings)
    assert not settings.checkouts_dir.exists()  # not even a partial checkout


async def test_a_burst_of_tasks_shares_one_fetch(
    tmp_path: Path, remote_repo: Path, fetch_log: Path
) -> None:
    settings = make_settings(tmp_path)
    await ensure_mirror(GitRemote(str(remote_repo)), settings)  # the mirror is warm
    new_tip = push_commit(remote_repo, "new.txt")
    created = time.time()  # all of the burst were created now, before any fetch
    dests = [settings.checkouts_dir / f"TY-{n}" for n in range(8)]
    await asyncio.gather(
        *(
            create_checkout(
                GitRemote(str(remote_repo)), f"b{n}", "main", dest, settings, not_before=created
            )
            for n, dest in enumerate(dests)
        )
    )
    assert mirror_fetches(fetch_log) == 1
    assert {git("rev-parse", "HEAD", cwd=d).strip() for d in dests} == {new_tip}
    # A task created after that fetch started needs one of its own; so does no bound.
    later = settings.checkouts_dir / "TY-later"
    await create_checkout(
        GitRemote(str(remote_repo)), "l", "main", later, settings, not_before=time.time()
    )
    assert mirror_fetches(fetch_log) == 2
    await ensure_mirror(GitRemote(str(remote_repo)), settings)
    assert mirror_fetches(fetch_log) == 3


async def test_a_new_commit_on_the_base_reaches_the_next_checkout(
    tmp_path: Path, remote_repo: Path
) -> None:
    settings = make_settings(tmp_path)
    first = settings.checkouts_dir / "TY-1"
    await create_checkout(
        GitRemote(str(remote_repo)), "a", "", first, settings, not_before=time.time()
    )
    new_tip = push_commit(remote_repo, "new.txt")
    second = settings.checkouts_dir / "TY-2"
    await create_checkout(
        GitRemote(str(remote_repo)), "b", "", second, settings, not_before=time.time()
    )
    assert git("rev-parse", "HEAD", cwd=second).strip() == new_tip
    assert (second / "new.txt").exists() and not (first / "new.txt").exists()


def packs(mirror: Path) -> int:
    return len(list((mirror / "objects" / "pack").glob("*.pack")))


async def test_a_fetch_leaves_housekeeping_to_the_sweep(tmp_path: Path, remote_repo: Path) -> None:
    # git's housekeeping after a fetch is a process (now and then a repack) on a task's
    # way to its agent: the mirror is kept packed by the hourly sweep instead.
    settings = make_settings(tmp_path)
    remote = GitRemote(str(remote_repo))
    mirror = await ensure_mirror(remote, settings)
    # Each fetch keeps its pack, and a second pack is one too many.
    git("repack", "-q", "-a", "-d", cwd=mirror)
    git("config", "fetch.unpackLimit", "1", cwd=mirror)
    git("config", "gc.autoPackLimit", "1", cwd=mirror)
    push_commit(remote_repo, "new.txt")
    await ensure_mirror(remote, settings)
    assert packs(mirror) == 2
    await maintain_mirrors(settings)
    assert packs(mirror) == 1
    assert git("cat-file", "-t", tip(remote_repo), cwd=mirror).strip() == "commit"
