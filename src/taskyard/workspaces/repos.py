"""Repository mirrors (one bare mirror per repository) and per-task checkouts.

A task's checkout is cloned from the local mirror with ``--shared`` (objects are
borrowed through ``alternates``), so a second task on the same repository costs no
network and almost no disk. Mirrors are fetched incrementally and never
garbage-collected with pruning, which keeps every borrowed object alive.

Checkouts are usually taken ready-made from a warm pool (:mod:`.pool`), which makes
a task's checkout cost about as much as ``git checkout -b``. Fetches are coalesced:
each mirror records when its last completed fetch started, and a task created
before that needs no fetch of its own, so a burst of tasks on one repository
shares one fetch instead of queueing for fifty.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from taskyard.config import Settings
from taskyard.model.forge import GitRemote
from taskyard.workspaces import pool
from taskyard.workspaces.clone_refs import (
    FETCHED,
    MirrorRefs,
    mirror_refs,
    write_branch,
    write_clone_refs,
)
from taskyard.workspaces.file_lock import locked
from taskyard.workspaces.files import hand_over
from taskyard.workspaces.git import SERVER_MADE, GitError, git

log = logging.getLogger(__name__)

HEAD_REF = "ref: refs/heads/"


def mirror_path(url: str, settings: Settings) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return settings.mirrors_dir / f"{digest}.git"


def last_fetch(mirror: Path) -> float | None:
    """When the mirror's last completed fetch (or its clone) started, epoch seconds."""
    try:
        return float(mirror.with_suffix(FETCHED).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _record_fetch(mirror: Path, started: float) -> None:
    stamp = mirror.with_suffix(FETCHED)
    partial = stamp.with_suffix(".fetched-partial")
    partial.write_text(repr(started))
    os.replace(partial, stamp)  # never half a number


async def ensure_mirror(
    remote: GitRemote, settings: Settings, not_before: float | None = None
) -> Path:
    """Create the mirror on first use, fetch new objects on later uses.

    Args:
        remote: Where the repository is, and the credentials git needs (its forge's).
        settings: Where mirrors live.
        not_before: Epoch seconds (a task's creation): a completed fetch that started
            at or after it is recent enough, and none is made. ``None`` always fetches.
    """
    mirror = mirror_path(remote.url, settings)
    auth = dict(remote.env)
    async with locked(mirror.with_suffix(".lock")):
        started = time.time()
        if (mirror / "HEAD").exists():
            last = last_fetch(mirror)
            if not_before is not None and last is not None and last >= not_before:
                return mirror  # someone fetched after this task was created
            # Not git's housekeeping after it (a process, and now and then a repack)
            # on a task's way to its agent: the hourly sweep does it (maintain_mirrors).
            fetch = ("-c", "maintenance.auto=false", "fetch", "--prune", "--quiet", "origin")
            await git(*fetch, cwd=mirror, env=auth)
        else:
            partial = mirror.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            await git("clone", "--mirror", "--quiet", remote.url, str(partial), env=auth)
            partial.rename(mirror)
        _record_fetch(mirror, started)
    return mirror


async def maintain_mirrors(settings: Settings) -> None:
    """git's own housekeeping (``maintenance run --auto``: a gc once loose objects or
    packs pile up) for every mirror, as a fetch would have done.

    Not under the mirror's lock: a repack of a large repository takes minutes, and
    tasks would wait that long for their fetch. git keeps the two apart itself, as it
    does when a fetch starts the same housekeeping. In the foreground, so that one
    sweep's housekeeping is over before the next begins.
    """
    mirrors = sorted(settings.mirrors_dir.glob("*.git")) if settings.mirrors_dir.is_dir() else []
    detached = ("-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false")
    for mirror in mirrors:
        try:
            await git(*detached, "maintenance", "run", "--auto", "--quiet", cwd=mirror)
        except GitError as exc:
            log.warning("housekeeping of mirror %s failed: %s", mirror.name, exc)


async def default_branch(mirror: Path) -> str:
    # The mirror is the server's own: its HEAD file is read rather than ask git (a
    # process on every task's way to its agent).
    head = await asyncio.to_thread((mirror / "HEAD").read_text)
    if head.startswith(HEAD_REF) and head.endswith("\n") and head.count("\n") == 1:
        return head.removeprefix(HEAD_REF).rstrip("\n")
    ref = await git("symbolic-ref", "--short", "HEAD", cwd=mirror)
    return ref.strip()


async def create_checkout(
    remote: GitRemote,
    branch: str,
    base_branch: str,
    dest: Path,
    settings: Settings,
    not_before: float | None = None,
    private_files: Sequence[str] = (),
) -> tuple[str, str]:
    """Make ``dest`` a checkout of the repository at ``remote`` on ``branch``.

    ``private_files`` are those every agent kind keeps in a checkout for itself
    (see :func:`.pool.populate`), for this checkout and the pool's.

    Returns the base branch, and the commit the new branch starts at (``""`` when
    ``dest`` existed already: the server recorded that commit when it made it).

    The new branch starts at the base's tip as of a fetch that started after
    ``not_before`` (see :func:`ensure_mirror`). Idempotent: a retried activity finds
    the checkout already there and keeps it, with whatever the agent had already
    written.
    """
    if base_branch and dest.exists():
        return base_branch, ""  # nothing to fetch for a checkout that stays as it is
    mirror = await ensure_mirror(remote, settings, not_before)
    default = await default_branch(mirror)
    base = base_branch or default
    if dest.exists():
        return base, ""
    refs = await mirror_refs(mirror, base)
    if not refs.tip:
        raise GitError(["checkout", base], 1, f"Base branch '{base}' not found")
    partial = dest.with_name(dest.name + ".partial")
    await asyncio.to_thread(shutil.rmtree, partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        claimed, start = await _claim(mirror, base, refs, default, branch, partial, settings)
        if not claimed:
            await pool.populate(mirror, base, partial, private_files)
            # The base's tip as the clone found it (the mirror may have moved since `tip`).
            start = (await git(*SERVER_MADE, "rev-parse", "HEAD", cwd=partial)).strip()
            await asyncio.to_thread(write_branch, partial, branch, base, start)
            # From here on the checkout is the agent's: the server runs no git in it.
            await asyncio.to_thread(hand_over, partial)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, partial, ignore_errors=True)
        raise
    partial.rename(dest)
    pool.schedule_refill(mirror, base, settings, private_files)
    return base, start


async def _claim(
    mirror: Path,
    base: str,
    refs: MirrorRefs,
    default: str,
    branch: str,
    dest: Path,
    settings: Settings,
) -> tuple[bool, str]:
    """Take a pooled checkout into ``dest`` and bring it to what a fresh one would be,
    the sandbox user's (the pool handed it over when it made it).

    Returns whether a pooled checkout could be used, and the commit its new branch is
    at, if the claim knows it.
    """
    entry = pool.claim(mirror, base, refs.tip, dest, settings)
    if entry is None:
        return False, ""
    try:
        # The entry's refs are the mirror's from when it was made: they become the
        # mirror's now, as a fresh clone would have them (every object is shared).
        if entry.refs != refs.digest and not await asyncio.to_thread(
            write_clone_refs, dest, refs, default
        ):
            raise OSError("the pooled checkout does not keep its refs in files")
        if entry.commit == refs.tip:
            await asyncio.to_thread(write_branch, dest, branch, base, entry.commit)
        else:
            # Rewrites only the files that differ between HEAD and the base's tip.
            checkout = ("checkout", "--quiet", "-b", branch, f"origin/{base}")
            await git(*SERVER_MADE, *checkout, cwd=dest)
            await asyncio.to_thread(hand_over, dest)
    except (GitError, OSError):
        await asyncio.to_thread(pool.discard, dest, settings)
        return False, ""
    return True, entry.commit if entry.commit == refs.tip else ""


async def reset_checkout(
    checkout: Path, head: str, branch_at: str, source: tuple[Path, str] | None = None
) -> None:
    """Bring a checkout :func:`create_checkout` just made to ``head``'s files, its branch
    at ``branch_at`` (``head`` or an ancestor: what was not committed stays uncommitted).

    No agent has run in it yet, so the server may run git there. ``source``: a
    repository of the server's and a ref in it to fetch ``head`` from (the vault, where
    a checkpoint was checked); without it ``head`` is in the mirror already.
    """
    if source is not None:
        repository, ref = source
        fetch = ("fetch", "-q", "--no-tags", "--no-write-fetch-head", str(repository), ref)
        await git(*SERVER_MADE, *fetch, cwd=checkout)
    await git(*SERVER_MADE, "reset", "-q", "--hard", head, cwd=checkout)
    if branch_at != head:
        await git(*SERVER_MADE, "reset", "-q", branch_at, cwd=checkout)
    await asyncio.to_thread(hand_over, checkout)


def mirror_objects(remote: GitRemote, settings: Settings) -> Path:
    """The objects a checkout of ``remote``'s repository borrows: its mirror's, from our
    own records.

    Sandboxes show them read-only (git in the checkout needs them); the
    checkout's own ``objects/info/alternates`` is the agent's to edit, and is
    never what decides a mount.
    """
    return mirror_path(remote.url, settings) / "objects"


def remove_checkout(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
