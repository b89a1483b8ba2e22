"""The vault: a bare repository per mirror that only the server writes.

An agent's work arrives here as a pack (see :mod:`.snapshot`) and is checked
before anything reads it: every object is verified (``index-pack --strict``,
git's fsck rules, which refuse malformed trees, ``.git`` paths and hostile
``.gitmodules``), and the head must be a commit that descends from the task's
base commit. Diffs, stats and the secret scan read the vault, and delivery
pushes from it. The vault borrows the mirror's objects, so a task's import
costs only the objects the agent made.

Refs: ``refs/taskyard/<org id>/<KEY>/{work,live}``: the last delivered work and
the last live snapshot of each task.
"""

from __future__ import annotations

from pathlib import Path

from taskyard.config import Settings
from taskyard.model.diff import DiffStats
from taskyard.model.errors import InvalidInput
from taskyard.model.forge import GitRemote
from taskyard.workspaces.file_lock import locked
from taskyard.workspaces.git import GitError, git, git_bytes
from taskyard.workspaces.snapshot import Snapshot

MAX_PATCH = 2_000_000


class WorkRejected(InvalidInput):
    """The agent's exported work failed the vault's checks."""


def vault_path(mirror: Path, settings: Settings) -> Path:
    return settings.data_dir / "vault" / mirror.name


async def open_vault(mirror: Path, settings: Settings) -> Path:
    """The vault of ``mirror``, created on first use."""
    vault = vault_path(mirror, settings)
    if (vault / "HEAD").exists():
        return vault
    async with locked(vault.with_suffix(".lock")):
        if not (vault / "HEAD").exists():
            partial = vault.with_suffix(".partial")
            await git("init", "--quiet", "--bare", str(partial))
            (partial / "objects" / "info" / "alternates").write_text(f"{mirror / 'objects'}\n")
            partial.rename(vault)
    return vault


async def import_snapshot(vault: Path, snapshot: Snapshot, base: str, ref: str) -> str:
    """Check ``snapshot`` and store it under ``ref``; returns its head commit.

    Raises :class:`WorkRejected` when the pack is malformed, or the head is not a
    commit descending from ``base``.
    """
    head = snapshot.head
    if head == base:
        if snapshot.agent_head != base:
            raise WorkRejected("The exported branch is not at the exported head.")
        await git("update-ref", ref, base, cwd=vault)
        return base
    if not snapshot.pack:
        raise WorkRejected("The exported work has no objects beyond the base commit.")
    try:
        # --fix-thin: the pack leaves out what the base already has (in the mirror).
        await git("index-pack", "--stdin", "--fix-thin", "--strict", cwd=vault, stdin=snapshot.pack)
    except GitError as exc:
        raise WorkRejected(
            f"The exported work is not a valid git pack: {exc.stderr[-300:]}"
        ) from exc
    kind = await _object_type(vault, head)
    if kind != "commit":
        raise WorkRejected(f"The exported head {head} is not a commit.")
    if not await _is_ancestor(vault, base, head):
        raise WorkRejected(
            f"The agent's branch does not descend from the base commit {base[:12]}; "
            "rewritten or unrelated history is not delivered."
        )
    # A checkout rebuilt from this work puts its branch at the agent's commit, which
    # must lie between the base and the head.
    agent = snapshot.agent_head
    if not (await _is_ancestor(vault, base, agent) and await _is_ancestor(vault, agent, head)):
        raise WorkRejected(
            f"The exported branch {agent[:12]} is not between the base commit and the "
            "exported head."
        )
    await git("update-ref", ref, head, cwd=vault)
    return head


async def _is_ancestor(vault: Path, older: str, newer: str) -> bool:
    try:
        await git("merge-base", "--is-ancestor", older, newer, cwd=vault)
    except GitError:
        return False
    return True


async def _object_type(vault: Path, sha: str) -> str:
    try:
        return (await git("cat-file", "-t", sha, cwd=vault)).strip()
    except GitError:
        return ""


async def diff_stats(vault: Path, base: str, head: str) -> tuple[DiffStats, str]:
    """Stats and patch of ``head`` against ``base`` (the patch cut at ``MAX_PATCH``)."""
    if head == base:
        return DiffStats(0, 0, 0), ""
    # One process: the numstat lines, a blank line, then the patch.
    both = await git(
        "diff", "--no-ext-diff", "--no-textconv", "--numstat", "--patch", base, head, cwd=vault
    )
    numstat, _, patch = both.partition("\n\n")
    files = additions = deletions = 0
    for line in numstat.splitlines():
        added, deleted, _ = line.split("\t", 2)
        files += 1
        additions += int(added) if added.isdigit() else 0
        deletions += int(deleted) if deleted.isdigit() else 0
    return DiffStats(files, additions, deletions), patch[:MAX_PATCH]


async def find_secret(vault: Path, base: str, head: str, known: dict[str, str]) -> str:
    """Where the commits ``base..head`` hold a known secret value; ``""`` if nowhere.

    Every commit is read, not only the result: a secret added and then removed is
    still in the history a push publishes. Messages, file names and contents
    (binary files included, as bytes) are all searched.
    """
    values = {name: value.encode() for name, value in known.items() if len(value) >= 4}
    if head == base or not values:
        return ""
    log = (await git("log", "--format=%H%n%B", f"{base}..{head}", cwd=vault)).encode()
    for name, value in values.items():
        if value in log:
            return f"secret {name} is in a commit message"
    listing = await git("rev-list", "--objects", f"{base}..{head}", cwd=vault)
    paths: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, path = line.partition(" ")
        for name, value in values.items():
            if value in path.encode():
                return f"secret {name} is in the file name {path!r}"
        if path:
            paths.setdefault(sha, path)
    for sha, kind, content in await _read_objects(vault, list(paths)):
        if kind != "blob":
            continue
        for name, value in values.items():
            if value in content:
                return f"secret {name} is in {paths[sha]}"
    return ""


async def _read_objects(vault: Path, shas: list[str]) -> list[tuple[str, str, bytes]]:
    """``(sha, type, content)`` of each object, in one ``cat-file --batch``."""
    if not shas:
        return []
    out = await git_bytes("cat-file", "--batch", cwd=vault, stdin="\n".join(shas).encode() + b"\n")
    objects: list[tuple[str, str, bytes]] = []
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        sha, kind, size = out[at:end].decode().split(" ")
        start = end + 1
        objects.append((sha, kind, out[start : start + int(size)]))
        at = start + int(size) + 1
    return objects


class BranchMoved(InvalidInput):
    """The branch on the remote is not where taskyard left it: someone else pushed."""


async def push(vault: Path, head: str, remote: GitRemote, branch: str, expected: str) -> None:
    """Push ``head`` to ``branch`` at ``remote`` if the branch is still at ``expected``,
    the commit taskyard pushed there last (``""``: it must not exist yet).

    Never over someone else's work: the expected value goes with the push as a lease
    (``--force-with-lease=<ref>:<expected>``), and the remote updates the branch only if
    it still holds that value when the push lands, an atomic compare-and-swap on the
    remote's side. A look at the remote followed by a push would leave a window in
    which a person's push is silently overwritten. What the lease lets through is
    taskyard replacing its own last commit (the agent may have rewritten its branch).
    Raises :class:`BranchMoved` when the branch moved; a push retried after it landed
    (the branch at ``head`` already) succeeds.

    The remote's credentials reach git in its environment only.
    """
    ref = f"refs/heads/{branch}"
    env = dict(remote.env)
    try:
        await git(
            "push",
            "--quiet",
            f"--force-with-lease={ref}:{expected}",
            remote.url,
            f"{head}:{ref}",
            cwd=vault,
            env=env,
        )
        return
    except GitError:
        listed = await git("ls-remote", remote.url, ref, cwd=vault, env=env)
        current = listed.split("\t", 1)[0].strip()
        if current == head:
            return
        if current == expected:
            raise  # refused for another reason: git's own words say which
    now = f"is at {current[:12]}" if current else "was deleted"
    was = f"at {expected[:12]}, where taskyard pushed it last" if expected else "absent"
    raise BranchMoved(
        f"Push refused: branch {branch} {now}, not {was}: someone else pushed to it. "
        "Nothing was overwritten; their commits stay on the branch and its pull request."
    )


async def forget(settings: Settings, names: list[str]) -> None:
    """Drop the refs of tasks whose workspaces were removed (``<org id>/<KEY>`` each);
    ``git gc --auto`` reclaims their objects in time."""
    root = settings.data_dir / "vault"
    prefixes = tuple(f"refs/taskyard/{name}/" for name in names)
    for store in sorted(root.glob("*.git")) if root.is_dir() and names else ():
        refs = await git("for-each-ref", "--format=%(refname)", "refs/taskyard/", cwd=store)
        doomed = [ref for ref in refs.splitlines() if ref.startswith(prefixes)]
        if doomed:
            commands = "".join(f"delete {ref}\n" for ref in doomed).encode()
            await git("update-ref", "--stdin", cwd=store, stdin=commands)
            await git("gc", "--auto", "--quiet", cwd=store)
