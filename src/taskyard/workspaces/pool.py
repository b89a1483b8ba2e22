"""A warm pool of ready checkouts per (mirror, base branch), refilled in the background.

Why: writing a work tree and its index is most of a checkout's cost (0.2 to 0.45 s for
5,000 small files, about 2 s for 50,000), and a task waits for it before its agent
can start. So checkouts are made ahead of time, and a task takes one with a single
``rename()``; what is left on the task's path is creating its branch and, only if
the mirror's refs changed since the entry was made, a local fetch of them and a
``git checkout -b`` that rewrites just the files that differ. See docs/sandbox.md
for the measurements and for why this beat an overlayfs over a shared base tree.

Layout, under ``<data_dir>/pool/<mirror>/<digest of the base branch>/``::

    ready/<commit>-<refs>-<token>   complete checkouts, detached at the base's tip
                                    <commit>; <refs> digests the mirror's refs then
    building/<token>                being made; renamed into ready/ once complete
    lock                            held (flock) by whoever refills this pool

Claiming is one atomic ``rename()``, so two tasks in any processes never get the
same entry and claims take no lock. Entries are removed by renaming them into
``<data_dir>/trash`` first, for the same reason: a claimer gets a whole checkout or
none. Refills run in a daemon thread per pool, with their own event loop, at a
lower CPU priority than the tasks they serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from taskyard.config import Settings
from taskyard.workspaces.clone_refs import mirror_refs
from taskyard.workspaces.file_lock import locked
from taskyard.workspaces.files import backdate, hand_over
from taskyard.workspaces.git import SERVER_MADE, git
from taskyard.workspaces.pool_gate import wait_for_quiet

log = logging.getLogger(__name__)

# Written by agents for people (the plan): never committed. Files agents' tools
# write for themselves (Aider's repository map) are their adapters' to name, and
# callers pass them in (``private_files``).
PRIVATE_FILES = ("PLAN.md",)
# The untracked cache saves status a walk of every directory (a third of its time at
# 50,000 files); it is only an index extension, which older gits skip.
CLONE_CONFIG = ("core.untrackedCache=true",)
REFILL_NICE = 10
# How far back a new checkout's files are dated (see settle): past the second its index
# is written in, whatever the clock's rounding.
BACKDATE = 2


def pool_dir(mirror: Path, base: str, settings: Settings) -> Path:
    """The pool of ``base`` checkouts of ``mirror`` (base names may hold ``/``)."""
    digest = hashlib.sha256(base.encode()).hexdigest()[:16]
    return settings.data_dir / "pool" / mirror.stem / digest


async def populate(mirror: Path, base: str, dest: Path, private_files: Sequence[str] = ()) -> None:
    """Make ``dest`` a checkout of ``mirror`` detached at ``origin/<base>``.

    Every task checkout starts as this, pooled or not, so that both kinds are alike:
    objects borrowed from the mirror (``--shared``), ``origin`` the mirror, the
    plan and ``private_files`` (those of every agent kind) excluded.
    """
    config = [arg for item in CLONE_CONFIG for arg in ("-c", item)]
    # No template: its sample hooks and description are a dozen files per checkout that
    # nothing reads, and on a file system that churns checkouts each new file costs.
    await git(
        "clone", "--shared", "--quiet", "--no-checkout", "--template=", *config,
        str(mirror), str(dest),
    )  # fmt: skip
    await git("checkout", "--quiet", "--detach", f"origin/{base}", cwd=dest)
    exclude = dest / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("".join(f"/{name}\n" for name in (*PRIVATE_FILES, *private_files)))


class Entry(NamedTuple):
    """What a pooled checkout was made from."""

    commit: str  # the base's tip, where it is detached
    refs: str  # digest of the mirror's refs then (see mirror_refs)


def claim(mirror: Path, base: str, tip: str, dest: Path, settings: Settings) -> Entry | None:
    """Move a ready checkout of ``base`` to ``dest``; None if there is none.

    Entries at ``tip`` come first; an older one still beats a fresh clone, since
    moving it forward rewrites only the files that changed.
    """
    ready = pool_dir(mirror, base, settings) / "ready"
    try:
        names = sorted(os.listdir(ready), key=lambda n: not n.startswith(f"{tip}-"))
    except FileNotFoundError:
        return None
    for name in names:
        try:
            os.rename(ready / name, dest)
        except FileNotFoundError:
            continue  # another task took it first
        except OSError as exc:
            # Say, the checkouts directory on another file system: clone instead.
            log.warning("cannot claim pooled checkout %s: %s", ready / name, exc)
            return None
        commit, refs, _ = name.split("-", 2)
        return Entry(commit, refs)
    return None


def discard(path: Path, settings: Settings) -> bool:
    """Delete ``path`` (a tree); False if it was already gone (say, claimed meanwhile).

    It is renamed into the trash first, so nobody can claim or use it half-deleted.
    """
    trash = settings.data_dir / "trash"
    trash.mkdir(parents=True, exist_ok=True)
    target = trash / f"{path.name}.{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return False
    _delete(target)
    return True


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


async def refill(
    mirror: Path, base: str, settings: Settings, private_files: Sequence[str] = ()
) -> int:
    """Bring the pool to ``checkout_pool_size`` entries at the base's current tip.

    Entries at other commits are dropped (the base moved); returns how many were made.
    """
    key = pool_dir(mirror, base, settings)
    ready, building = key / "ready", key / "building"
    async with locked(key / "lock"):
        ready.mkdir(parents=True, exist_ok=True)
        building.mkdir(exist_ok=True)
        for leftover in building.iterdir():  # we hold the lock: nobody is building these
            await asyncio.to_thread(discard, leftover, settings)
        tip = (await mirror_refs(mirror, base)).tip
        size = settings.checkout_pool_size if tip else 0  # no base branch: keep nothing
        current = sorted(n for n in os.listdir(ready) if n.startswith(f"{tip}-"))
        for name in set(os.listdir(ready)) - set(current[:size]):
            await asyncio.to_thread(discard, ready / name, settings)
        made = 0
        # Counted again each time: tasks claim meanwhile.
        while made < size and len(os.listdir(ready)) < size:
            partial = building / uuid.uuid4().hex[:12]
            # Read first: if the mirror moves during the clone, the entry looks older
            # than it is, and its claimer fetches for nothing (never the reverse).
            refs = (await mirror_refs(mirror, base)).digest
            await populate(mirror, base, partial, private_files)
            # Ahead of time, so a claim only hands over what it writes itself; before
            # the settling, whose status records the files' new owner and ctime.
            await asyncio.to_thread(hand_over, partial)
            await settle(partial)
            commit = (await git(*SERVER_MADE, "rev-parse", "HEAD", cwd=partial)).strip()
            partial.rename(ready / f"{commit}-{refs}-{partial.name}")
            made += 1
        return made


async def settle(checkout: Path) -> None:
    """Make a new checkout's index not "racily clean", at once.

    git compares timestamps in whole seconds: an index written in the second its files
    were is racily clean, and every later git in the checkout reads every file again
    to tell that nothing changed. An export of the agent's work (each turn) does worse:
    in the sandbox, where it may not touch the mirror's packs, it writes each file
    again as a loose object (the export takes half a second at 5,000 files, against
    40 to 50 ms). So the files are dated ``BACKDATE`` seconds back, then the index
    written again (a status, which also fills the untracked cache) and handed to the
    sandbox user, as the rest is: the agent's export writes that index back. Only on
    checkouts the server made and no agent has seen.
    """
    await asyncio.to_thread(backdate, checkout, BACKDATE)
    await git(*SERVER_MADE, "status", "--porcelain", cwd=checkout)
    await asyncio.to_thread(hand_over, checkout / ".git")


_guard = threading.Lock()
_threads: dict[Path, threading.Thread] = {}
_wanted: set[Path] = set()


def schedule_refill(
    mirror: Path, base: str, settings: Settings, private_files: Sequence[str] = ()
) -> None:
    """Refill the pool of (``mirror``, ``base``) in the background, soon.

    One thread per pool and process; a request while it runs makes it go round once
    more, so a claim made during a refill is replaced too.
    """
    key = pool_dir(mirror, base, settings)
    if settings.checkout_pool_size <= 0 and not key.exists():
        return
    with _guard:
        _wanted.add(key)
        if key in _threads:
            return
        thread = threading.Thread(
            target=_refill_while_wanted,
            args=(key, mirror, base, settings, tuple(private_files)),
            name=f"taskyard-pool-{key.parent.name}-{key.name}",
            daemon=True,  # an unfinished entry is cleaned up by the next refill
        )
        _threads[key] = thread
    thread.start()


def _refill_while_wanted(
    key: Path, mirror: Path, base: str, settings: Settings, private_files: Sequence[str]
) -> None:
    # On Linux a thread has its own nice value, and the processes it starts inherit
    # it: the clones made ahead of time yield the CPU to the tasks that wait for one.
    # Relative to the process's own: yielding to its tasks, not to everyone else's.
    with contextlib.suppress(OSError):
        nice = os.getpriority(os.PRIO_PROCESS, 0) + REFILL_NICE
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    while True:
        with _guard:
            if key not in _wanted:
                del _threads[key]
                return
            _wanted.discard(key)
        wait_for_quiet()  # after the agent of the task that claimed has started
        try:
            asyncio.run(refill(mirror, base, settings, private_files))
        except Exception:
            log.warning("refilling the checkout pool %s failed", key, exc_info=True)


def wait_refills(timeout: float | None = None) -> None:
    """Block until this process runs no refill (for tests, benchmarks and shutdown)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _guard:
            threads = list(_threads.values())
        if not threads:
            return
        for thread in threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
            if thread.is_alive():
                raise TimeoutError("checkout pool refills still running")


def sweep_idle(settings: Settings, older_than: float) -> list[Path]:
    """Remove the pools nobody claimed from or refilled since ``older_than`` (epoch).

    They belong to repositories or base branches no longer worked on; a pool being
    refilled right now is left alone.
    """
    removed: list[Path] = []
    for key in sorted((settings.data_dir / "pool").glob("*/*")):
        ready = key / "ready"
        try:
            if (ready if ready.exists() else key).stat().st_mtime >= older_than:
                continue
            with (key / "lock").open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if discard(key, settings):
                    removed.append(key)
        except (BlockingIOError, FileNotFoundError):
            continue  # being refilled, or swept by another process
    return removed


def empty_trash(settings: Settings) -> None:
    """Finish deletions a stopped process left half done."""
    trash = settings.data_dir / "trash"
    for path in trash.iterdir() if trash.exists() else ():
        _delete(path)
