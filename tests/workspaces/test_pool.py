"""The warm checkout pool, against real git (and real bwrap for git inside a sandbox)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import git
from tests.workspaces.test_repos import make_settings, push_commit, tip

from taskyard.config import Settings, get_settings
from taskyard.model.forge import GitRemote
from taskyard.model.template import Network
from taskyard.workspaces import pool
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.repos import (
    create_checkout,
    ensure_mirror,
    mirror_objects,
    mirror_path,
)
from taskyard.workspaces.sandbox import SandboxRequest


@pytest.fixture(autouse=True)
def _refills_end() -> Iterator[None]:
    yield
    pool.wait_refills(60)


def mirror_of(settings: Settings, remote: Path) -> Path:
    return mirror_path(str(remote), settings)


def ready(settings: Settings, remote: Path) -> dict[int, str]:
    """The pool's ready entries of ``main``: their inode (kept by a claim) → name."""
    entries = pool.pool_dir(mirror_of(settings, remote), "main", settings) / "ready"
    return {p.stat().st_ino: p.name for p in entries.iterdir()} if entries.exists() else {}


async def warm(settings: Settings, remote: Path) -> dict[int, str]:
    """A first task's checkout (fresh: there is no pool yet), then the full pool."""
    first = settings.checkouts_dir / "TY-first"
    await create_checkout(GitRemote(str(remote)), "first", "", first, settings)
    await asyncio.to_thread(pool.wait_refills, 60)
    entries = ready(settings, remote)
    assert len(entries) == settings.checkout_pool_size
    return entries


def facts(checkout: Path, branch: str) -> dict[str, str]:
    """What a task (or its agent) can tell about its checkout, its branch name aside."""

    def run(*args: str) -> str:
        lines = git(*args, cwd=checkout).replace(branch, "<branch>").splitlines()
        return "\n".join(sorted(lines))

    # Every file the agent's, as in a fresh checkout (hand_over): none left to root. Read
    # first: git run here as root (a status) would write an index of its own.
    owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [checkout, *checkout.rglob("*")]}
    return {
        "owners": repr(owners),
        "head": run("symbolic-ref", "HEAD"),
        "commit": run("rev-parse", "HEAD"),
        "upstream": run("rev-parse", "--abbrev-ref", "@{upstream}"),
        "status": run("status", "--porcelain", "--ignored"),
        "refs": run("for-each-ref", "--format=%(refname) %(objectname)"),
        "config": run("config", "--local", "--list"),
        "files": run("ls-files", "--stage"),
        "exclude": (checkout / ".git" / "info" / "exclude").read_text(),
        "alternates": (checkout / ".git" / "objects" / "info" / "alternates").read_text(),
    }


async def test_a_claimed_checkout_is_indistinguishable_from_a_fresh_one(
    tmp_path: Path, remote_repo: Path
) -> None:
    settings = make_settings(tmp_path, pool_size=2)
    entries = await warm(settings, remote_repo)
    claimed = settings.checkouts_dir / "TY-2"
    await create_checkout(GitRemote(str(remote_repo)), "taskyard/ty-2", "", claimed, settings)
    assert claimed.stat().st_ino in entries
    fresh = facts(settings.checkouts_dir / "TY-first", "first")
    assert facts(claimed, "taskyard/ty-2") == fresh
    # The refill this claim started must not race the entries listed below.
    await asyncio.to_thread(pool.wait_refills, 60)
    # After the base moved (and the remote grew a branch): the claimed entry is
    # older than the mirror, and is brought forward to what a fresh clone has.
    push_commit(remote_repo, "new.txt")
    git("branch", "feature", "main", cwd=remote_repo)
    await ensure_mirror(GitRemote(str(remote_repo)), settings)
    entries = ready(settings, remote_repo)
    moved = settings.checkouts_dir / "TY-3"
    await create_checkout(GitRemote(str(remote_repo)), "taskyard/ty-3", "", moved, settings)
    assert moved.stat().st_ino in entries
    await asyncio.to_thread(pool.wait_refills, 60)
    shutil.rmtree(pool.pool_dir(mirror_of(settings, remote_repo), "main", settings))
    off = make_settings(tmp_path, pool_size=0)  # no pool left: a fresh checkout to compare
    reference = off.checkouts_dir / "TY-4"
    await create_checkout(GitRemote(str(remote_repo)), "taskyard/ty-4", "", reference, off)
    assert ready(off, remote_repo) == {}  # fresh: no pool was made to claim from
    assert facts(moved, "taskyard/ty-3") == facts(reference, "taskyard/ty-4")


async def test_a_claim_after_the_mirror_gained_refs_writes_them_with_no_git_process(
    tmp_path: Path, remote_repo: Path, fetch_log: Path
) -> None:
    # The last task pushed a branch, a release was tagged, a branch was deleted: the
    # pooled entry's refs are older than the mirror's, its base is not. The claim
    # writes the refs a fresh clone would have (packed-refs) instead of fetching them.
    git("branch", "old", "main", cwd=remote_repo)
    settings = make_settings(tmp_path, pool_size=1)
    remote = GitRemote(str(remote_repo))
    entries = await warm(settings, remote_repo)
    git("branch", "taskyard/ty-1", "main", cwd=remote_repo)
    git("branch", "-D", "old", cwd=remote_repo)
    git("tag", "light", "main", cwd=remote_repo)
    git("tag", "-a", "v1.0", "-m", "release", "main", cwd=remote_repo)
    await ensure_mirror(remote, settings)
    claimed = settings.checkouts_dir / "TY-2"
    await create_checkout(remote, "taskyard/ty-2", "", claimed, settings)
    assert claimed.stat().st_ino in entries
    # The mirror fetched (a task's checkout always asks it to); the checkout did not.
    assert [line for line in fetch_log.read_text().splitlines() if "TY-2" in line] == []
    await asyncio.to_thread(pool.wait_refills, 60)
    shutil.rmtree(pool.pool_dir(mirror_of(settings, remote_repo), "main", settings))
    off = make_settings(tmp_path, pool_size=0)
    reference = off.checkouts_dir / "TY-3"
    await create_checkout(remote, "taskyard/ty-3", "", reference, off)
    assert facts(claimed, "taskyard/ty-2") == facts(reference, "taskyard/ty-3")
    for probe in (("describe", "--tags"), ("log", "-1", "--format=%H", "origin/taskyard/ty-1")):
        assert git(*probe, cwd=claimed) == git(*probe, cwd=reference)
    assert "old" not in git("branch", "-r", cwd=claimed)


async def test_a_pooled_checkout_is_not_racily_clean(tmp_path: Path, remote_repo: Path) -> None:
    # git compares timestamps in whole seconds: were the index written in the second
    # its files were, every git in the checkout would read every file again to tell
    # that nothing changed (an export of the agent's work does, each turn).
    for name in ("a.txt", "b.txt"):
        push_commit(remote_repo, name)
    settings = make_settings(tmp_path, pool_size=1)
    await warm(settings, remote_repo)
    pooled = pool.pool_dir(mirror_of(settings, remote_repo), "main", settings) / "ready"
    [entry] = pooled.iterdir()
    stamps = git("ls-files", "--debug", cwd=entry).splitlines()
    newest = max(int(line.split()[1].split(":")[0]) for line in stamps if "mtime:" in line)
    assert int((entry / ".git" / "index").stat().st_mtime) > newest


async def test_a_claim_on_an_oddly_named_base_tracks_it_as_git_would(
    tmp_path: Path, remote_repo: Path
) -> None:
    # The claim writes the branch, HEAD and its upstream itself (no git process): a base
    # whose name git's config syntax must quote or escape comes out as git writes it.
    base = 'odd"name#;x'
    git("branch", base, "main", cwd=remote_repo)
    settings = make_settings(tmp_path, pool_size=1)
    remote = GitRemote(str(remote_repo))
    await create_checkout(remote, "first", base, settings.checkouts_dir / "TY-first", settings)
    await asyncio.to_thread(pool.wait_refills, 60)
    claimed = settings.checkouts_dir / "TY-2"
    await create_checkout(remote, "taskyard/ty-2", base, claimed, settings)
    assert facts(claimed, "taskyard/ty-2") == facts(settings.checkouts_dir / "TY-first", "first")
    assert git("rev-parse", "--abbrev-ref", "@{upstream}", cwd=claimed).strip() == f"origin/{base}"


async def test_tasks_at_once_get_distinct_checkouts(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=3)
    entries = await warm(settings, remote_repo)
    dests = [settings.checkouts_dir / f"TY-{n}" for n in range(6)]
    await asyncio.gather(
        *(
            create_checkout(GitRemote(str(remote_repo)), f"taskyard/ty-{n}", "", dest, settings)
            for n, dest in enumerate(dests)
        )
    )
    # Every entry went to one task, and the others got checkouts of their own.
    assert len({d.stat().st_ino for d in dests} & set(entries)) == 3
    for n, dest in enumerate(dests):
        assert git("branch", "--show-current", cwd=dest).strip() == f"taskyard/ty-{n}"
        assert git("status", "--porcelain", cwd=dest) == ""
    (dests[0] / "app.py").write_text("mine\n")
    assert all(git("status", "--porcelain", cwd=d) == "" for d in dests[1:])


CLAIMER = """
import sys
from pathlib import Path
from taskyard.config import Settings
from taskyard.workspaces import pool
data, mirror, commit, dest = sys.argv[1:]
settings = Settings(data_dir=Path(data))
print("ready", flush=True)
sys.stdin.readline()
entry = pool.claim(Path(mirror), "main", commit, Path(dest), settings)
print(entry and entry.commit)
"""


async def test_processes_never_claim_the_same_entry(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=2)
    await warm(settings, remote_repo)
    mirror, commit = mirror_of(settings, remote_repo), tip(remote_repo)
    dests = [tmp_path / "data" / "claims" / str(n) for n in range(4)]
    dests[0].parent.mkdir()
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, *map(str, (settings.data_dir, mirror, commit, dest))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for dest in dests
    ]
    for claimer in claimers:  # all started: now let them race
        assert claimer.stdout is not None and claimer.stdout.readline() == "ready\n"
    for claimer in claimers:
        assert claimer.stdin is not None
        claimer.stdin.write("go\n")
        claimer.stdin.close()
    results = []
    for claimer in claimers:
        assert claimer.stdout is not None
        with claimer.stdout:
            results.append(claimer.stdout.read().strip())
        assert claimer.wait(timeout=30) == 0
    assert Counter(results) == {"None": 2, commit: 2}
    assert sum((d / ".git").is_dir() for d in dests) == 2
    assert ready(settings, remote_repo) == {}


async def test_the_pool_follows_the_base_branch(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=2)
    old = await warm(settings, remote_repo)
    new_tip = push_commit(remote_repo, "new.txt")
    dest = settings.checkouts_dir / "TY-2"
    await create_checkout(
        GitRemote(str(remote_repo)), "b", "", dest, settings, not_before=time.time()
    )
    assert dest.stat().st_ino in old  # an older entry, brought forward
    assert git("rev-parse", "HEAD", cwd=dest).strip() == new_tip
    assert (dest / "new.txt").exists() and git("status", "--porcelain", cwd=dest) == ""
    await asyncio.to_thread(pool.wait_refills, 60)
    names = list(ready(settings, remote_repo).values())
    assert len(names) == 2 and all(n.startswith(f"{new_tip}-") for n in names)


async def test_a_pool_of_zero_makes_no_pool(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=0)
    for n in range(2):
        await create_checkout(
            GitRemote(str(remote_repo)), f"b{n}", "", settings.checkouts_dir / str(n), settings
        )
    await asyncio.to_thread(pool.wait_refills, 60)
    assert not (settings.data_dir / "pool").exists()


async def test_idle_pools_are_swept(tmp_path: Path, remote_repo: Path) -> None:
    settings = make_settings(tmp_path, pool_size=1)
    await warm(settings, remote_repo)
    key = pool.pool_dir(mirror_of(settings, remote_repo), "main", settings)
    assert pool.sweep_idle(settings, time.time() - 3600) == []
    long_ago = time.time() - 7200
    os.utime(key / "ready", (long_ago, long_ago))
    assert pool.sweep_idle(settings, time.time() - 3600) == [key]
    assert not key.exists() and list((settings.data_dir / "trash").iterdir()) == []


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")
async def test_git_works_in_a_sandbox_given_the_mirrors_objects(
    tmp_path: Path, remote_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKYARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()  # the sandbox hides the data directory it names
    try:
        settings = make_settings(tmp_path, pool_size=1)
        await warm(settings, remote_repo)
        dest = settings.checkouts_dir / "TY-2"
        await create_checkout(GitRemote(str(remote_repo)), "b", "", dest, settings)
        script = (
            "git status --porcelain; echo x > new.txt; git add new.txt;"
            " git -c user.name=a -c user.email=a@a commit -qm new && git log --format=%s"
        )
        process = await BubblewrapProvider().spawn(
            SandboxRequest(
                argv=["/bin/sh", "-c", script],
                env={},
                workdir=dest,
                home=tmp_path / "home",
                network=Network(policy="none"),
                shared_objects=mirror_objects(GitRemote(str(remote_repo)), settings),
            )
        )
        output = (await asyncio.wait_for(process.stdout.read(), 30)).decode()
        assert (await process.wait(), output) == (0, "new\ninitial\n")
    finally:
        get_settings.cache_clear()
