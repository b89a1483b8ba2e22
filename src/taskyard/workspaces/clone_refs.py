"""The refs a clone of a mirror has, read from the mirror and written into a checkout.

A pooled checkout was cloned when the mirror's refs were as they were then; by the
time a task claims it, the mirror has fetched (a branch pushed by the last task, a
tag), and the checkout's remote-tracking refs must become what a fresh clone would
have. Writing them (one ``packed-refs`` file, from the listing the claim reads
anyway) takes a fraction of a millisecond; the ``git fetch`` it replaces took three
processes on every task's way to its agent. The checkout is still the server's own
when this runs: no agent has seen it. What is written here is the sandbox user's as it
is made, as the rest of a pooled checkout already is, so that a claim hands nothing
over afterwards (a ``chown`` process per task).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.git import git

HEADS, REMOTE = "refs/heads/", "refs/remotes/origin/"
# Beside a mirror: when its last completed fetch started (see repos.ensure_mirror).
FETCHED = ".fetched"
# A mirror's listing of refs, and the stamp of the fetch it was listed after.
_listed: dict[Path, tuple[str, str]] = {}


class MirrorRefs(NamedTuple):
    """The branches and tags of a mirror, which are what a clone copies."""

    tip: str  # the base branch's commit, "" if the mirror has no such branch
    digest: str  # of the listing: tells whether a pooled checkout's refs are current
    listing: tuple[tuple[str, str], ...]  # (object, refname), refs/heads and refs/tags


async def mirror_refs(mirror: Path, base: str) -> MirrorRefs:
    """The refs of ``mirror`` a clone copies, and the tip of ``base`` among them.

    Listed once per fetch (a task's checkout and the pool's refill after it both ask):
    only a fetch changes a mirror's refs, and each completed one writes a new stamp.
    The stamp is read first, so a listing taken while a fetch ends is listed again.
    """
    try:
        stamp = mirror.with_suffix(FETCHED).read_text()
    except FileNotFoundError:
        stamp = ""
    cached = _listed.get(mirror)
    if stamp and cached is not None and cached[0] == stamp:
        out = cached[1]
    else:
        out = await git(
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/heads",
            "refs/tags",
            cwd=mirror,
        )
        if stamp:
            _listed[mirror] = (stamp, out)
    listing = tuple((sha, ref) for sha, ref in (line.split(" ", 1) for line in out.splitlines()))
    tip = next((sha for sha, ref in listing if ref == f"{HEADS}{base}"), "")
    return MirrorRefs(tip, hashlib.sha256(out.encode()).hexdigest()[:16], listing)


def write_clone_refs(checkout: Path, refs: MirrorRefs, default: str) -> bool:
    """Give ``checkout`` the refs a fresh clone of the mirror would have now.

    Remote-tracking branches and tags as the mirror's (gone ones removed, as
    ``fetch --prune`` would), and the local default branch at its remote's tip.
    Returns False, having changed nothing, for a checkout whose refs git does not
    keep in files (the reftable format): the caller clones afresh instead.
    """
    git_dir = checkout / ".git"
    if (git_dir / "reftable").exists() or not (git_dir / "refs").is_dir():
        return False
    packed: dict[str, str] = {}
    for sha, ref in refs.listing:
        if ref.startswith(HEADS):
            packed[REMOTE + ref.removeprefix(HEADS)] = sha
        else:
            packed[ref] = sha
    # Loose refs override packed ones: the pool's clone wrote none of these but its
    # remote's HEAD and its default branch, and both are written again below.
    for kept in ("remotes/origin", "tags"):
        _remove_loose(git_dir / "refs" / kept, keep=git_dir / "refs" / "remotes/origin/HEAD")
    # No peeled lines, so the header claims none: git peels tags when it needs to.
    lines = ["# pack-refs with: sorted \n"]
    lines += [f"{packed[name]} {name}\n" for name in sorted(packed, key=str.encode)]
    _write(git_dir / "packed-refs", "".join(lines))
    default_tip = packed.get(REMOTE + default)
    if default_tip:
        _write(git_dir / HEADS / default, f"{default_tip}\n")
        _write(git_dir / REMOTE / "HEAD", f"ref: {REMOTE}{default}\n")
    return True


def write_branch(checkout: Path, branch: str, base: str, commit: str) -> None:
    """Put ``checkout`` (detached at ``commit``, the tip of ``origin/<base>``, and clean)
    on a new ``branch`` tracking ``origin/<base>``: what ``git checkout -b`` would do,
    without its walk of the whole work tree, and what ``git branch --track`` then ``git
    symbolic-ref HEAD`` would write, without two processes (a quarter of a claim's time).
    """
    git_dir = checkout / ".git"
    ref = git_dir / HEADS / branch
    _make_parents(ref)
    with ref.open("x") as out:  # never a branch a checkout already had
        out.write(f"{commit}\n")
    _owned(ref)
    config = git_dir / "config"
    merge = _quoted(f"{HEADS}{base}")
    section = f"[branch {_quoted(branch)}]\n\tremote = origin\n\tmerge = {merge}\n"
    _write(config, config.read_text() + section)
    _write(git_dir / "HEAD", f"ref: {HEADS}{branch}\n")


def _quoted(text: str) -> str:
    """``text`` as a git config subsection name or value: in quotes, escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _remove_loose(directory: Path, keep: Path) -> None:
    for root, _, files in os.walk(directory):
        for name in files:
            path = Path(root) / name
            if path != keep:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def _write(path: Path, text: str) -> None:
    _make_parents(path)
    partial = path.with_name(path.name + ".taskyard-new")
    partial.write_text(text)
    _owned(partial)
    os.replace(partial, path)


def _make_parents(path: Path) -> None:
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        _owned(directory)


def _owned(path: Path) -> None:
    if (ids := sandbox_ids()) is not None:
        os.chown(path, *ids, follow_symlinks=False)
