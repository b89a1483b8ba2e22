"""Exporting an agent's work as data: git runs in the sandbox, only bytes come out.

The server never runs git in a checkout an agent has written: the repository's
config, hooks, attributes and links are the agent's, and git obeys them
(``core.fsmonitor``, filters, ``diff.external``, hooks that fire even with
``--no-verify``...). So the one git step that must read the checkout runs in the
task's own sandbox, with the network off and no secrets: it stages everything and
writes the commits since the base as a git pack on standard output, after one
header line naming the head commit and the commit the agent's branch is at. The
server checks and imports that pack into a repository only it writes
(:mod:`.vault`), and computes diffs, scans for secrets and pushes from there.
Whatever the agent did to its checkout can at most make this export fail or carry
different commits, and the vault checks those.

Two modes: ``commit`` records the work as a commit on the task's branch (what
delivery needs, so later turns build on it); ``peek`` builds the same commit
in throwaway storage under the sandbox's ``/tmp`` and leaves the checkout as it
was (the live diff, read while the agent may still be working).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from taskyard.model.errors import InvalidInput
from taskyard.model.template import Network
from taskyard.workspaces.pool import PRIVATE_FILES
from taskyard.workspaces.sandbox import SandboxProvider, SandboxRequest

Mode = Literal["commit", "peek"]
SHA = rb"([0-9a-f]{40}|[0-9a-f]{64})"
HEADER = re.compile(rb"taskyard-snapshot 1 " + SHA + rb" " + SHA + rb"\n")
TIMEOUT = 300.0

# Runs as `sh -c SCRIPT sh WORKTREE BASE MODE MESSAGE NAME EMAIL EXCLUDE`. git works
# in a fresh repository under the sandbox's $TMPDIR whose config is empty, so nothing
# the agent put in its own config (filter drivers, fsmonitor, hooks...) applies;
# the agent's repository is only read for HEAD and, in `commit` mode, written its
# new commit, index and objects. Everything but the header and the pack goes to a
# log (fd 3 is the channel out), so git's chatter can never pass for data.
SCRIPT = r"""
set -u
w=$1 base=$2 mode=$3 msg=$4 name=$5 email=$6 exclude=$7
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 \
  GIT_OPTIONAL_LOCKS=0 LANG=C
# Its own directory: exports of one task (a live diff beside a delivery) or of tasks
# sharing a /tmp (`sandbox: none`) may run at once.
t=$(mktemp -d) || { echo "mktemp failed"; exit 1; }
trap 'rm -rf "$t"' EXIT
exec 3>&1 >"$t/log" 2>&1
die() { echo "$1" >&3; tail -n 5 "$t/log" >&3; exit 1; }
agent() {
  env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE -u GIT_OBJECT_DIRECTORY \
    -u GIT_ALTERNATE_OBJECT_DIRECTORIES \
    git -c core.hooksPath=/dev/null -c core.fsmonitor=false --git-dir="$w/.git" "$@"
}
# The copied index's stat data was recorded by whoever wrote it (the server before
# handing the files over, or the agent): compare mtime and size only, or every file
# would be hashed again.
g() {
  git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.checkStat=minimal \
    -c core.trustctime=false -c user.name="$name" -c user.email="$email" "$@"
}
cd "$w" || die "the checkout is missing"
head=$(agent rev-parse --verify -q HEAD) || die "the checkout has no commit"
top=$head
format=$(agent rev-parse --show-object-format) || format=sha1
# No template (sample hooks, description): files nobody reads, made and deleted twice a turn.
g init -q --bare --template= --object-format="$format" "$t/repo.git" || die "git init failed"
{ mkdir "$t/repo.git/info" && printf '%s\n' "$exclude" > "$t/repo.git/info/exclude"; } \
  || die "the exclude file could not be written"
export GIT_DIR="$t/repo.git" GIT_WORK_TREE="$w" GIT_INDEX_FILE="$t/index"
if [ "$mode" = commit ]; then
  export GIT_OBJECT_DIRECTORY="$w/.git/objects"
else
  mkdir -p "$t/objects"
  export GIT_OBJECT_DIRECTORY="$t/objects" \
    GIT_ALTERNATE_OBJECT_DIRECTORIES="$w/.git/objects"
fi
# The agent's index saves hashing every file again; one git cannot read is rebuilt.
if ! { cp "$w/.git/index" "$GIT_INDEX_FILE" && g ls-files -s >/dev/null; }; then
  rm -f "$GIT_INDEX_FILE"
  g read-tree "$head" || die "git read-tree failed"
fi
g add -A || die "git add failed"
tree=$(g write-tree) || die "git write-tree failed"
if [ "$tree" != "$(g rev-parse "$head^{tree}")" ]; then
  head=$(g commit-tree "$tree" -p "$head" -m "$msg") || die "git commit-tree failed"
  if [ "$mode" = commit ]; then
    agent update-ref -m "taskyard: work delivered" HEAD "$head" || die "git update-ref failed"
    top=$head
    cp "$GIT_INDEX_FILE" "$w/.git/index" || die "the index could not be updated"
  fi
fi
printf 'taskyard-snapshot 1 %s %s\n' "$head" "$top" >&3
[ "$head" = "$base" ] && exit 0
printf '%s\n^%s\n' "$head" "$base" | g pack-objects --stdout --revs --thin -q >&3 \
  || die "git pack-objects failed"
"""


class SnapshotFailed(InvalidInput):
    """The agent's work could not be exported; the message says why."""


@dataclass(frozen=True)
class Snapshot:
    """What came out of the sandbox: the claimed head commit, the commit the agent's
    branch points at (``head`` or its parent), and a pack (``b""`` when the head is
    the base). Hostile data until :mod:`.vault` has checked it."""

    head: str
    agent_head: str
    pack: bytes


async def take_snapshot(
    provider: SandboxProvider,
    request: SandboxRequest,
    *,
    base: str,
    mode: Mode,
    message: str,
    author: tuple[str, str],
    max_bytes: int,
    private_files: Sequence[str] = (),
) -> Snapshot:
    """Export the work in ``request.workdir`` since ``base``, running git in the sandbox.

    Args:
        provider: The task's sandbox provider.
        request: The task's sandbox (checkout, home, limits, shared objects);
            its argv, environment and network are replaced here.
        base: The commit the task's branch started at (from the server's records).
        mode: ``commit`` or ``peek`` (see the module docstring).
        message: Message of the commit made of uncommitted changes.
        author: Name and email of that commit.
        max_bytes: The largest export accepted.
        private_files: Files agents keep in a checkout for themselves, never exported.
    """
    sandboxed = replace(
        request,
        argv=[
            "/bin/sh",
            "-c",
            SCRIPT,
            "sh",
            str(request.workdir),
            base,
            mode,
            message,
            *author,
            "\n".join(f"/{name}" for name in (*PRIVATE_FILES, *private_files)),
        ],
        env={},
        stdin=None,
        network=Network(policy="none"),
        readonly_paths=[],
        proxy_url="",
    )
    process = await provider.spawn(sandboxed)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(TIMEOUT):
            while chunk := await process.stdout.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise SnapshotFailed(
                        f"The agent's changes are larger than {max_bytes >> 20} MB; "
                        "raise TASKYARD_SNAPSHOT_MAX_MB to deliver them."
                    )
                chunks.append(chunk)
            code = await process.wait()
    except TimeoutError:
        raise SnapshotFailed(f"Exporting the agent's changes took over {TIMEOUT:g} s.") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            await process.kill()
    out = b"".join(chunks)
    header = HEADER.match(out)
    if code != 0 or header is None:
        said = out[-600:].decode(errors="replace").strip()
        raise SnapshotFailed(f"Exporting the agent's changes failed (exit {code}): {said}")
    return Snapshot(header.group(1).decode(), header.group(2).decode(), out[header.end() :])
