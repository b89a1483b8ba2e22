"""The local forge: repositories named by a path on this machine (or a file:// URL).

The one-machine setup and the tests use it. There is no forge API: taskyard's own
record of the pull request is the pull request, and there are no issues to
comment on. Which repositories may be named by path is the server's
configuration (``TASKYARD_LOCAL_REPOSITORY_ROOTS``), checked when a task is created.

Merging one (:func:`merge`, from the dashboard) is what a forge would do: a merge
commit of the pull request's branch into its base, made without a working tree
(``git merge-tree``) and moved onto the base only if the base has not moved meanwhile.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from taskyard.config import Settings
from taskyard.forges.base import Forge, ForgeClient, PullRequestDraft, RemotePullRequest
from taskyard.model.errors import Conflict
from taskyard.model.forge import ForgeSite, GitRemote
from taskyard.workspaces.git import SAFE_ARGS, GitError, git_env

GIT_TIMEOUT = 60.0
COMMITTER = {"GIT_COMMITTER_NAME": "taskyard", "GIT_COMMITTER_EMAIL": "taskyard@localhost"}


class LocalClient(ForgeClient):
    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest | None:
        return None

    async def comment(self, repository: str, issue_number: int, body: str) -> int:
        return 0

    async def edit_comment(self, repository: str, comment_id: int, body: str) -> None:
        return None

    async def mark_ready(self, repository: str, pull: RemotePullRequest) -> None:
        return None

    async def aclose(self) -> None:
        return None


class LocalForge(Forge):
    kind = "local"

    def remote(self, repository: str, site: ForgeSite, settings: Settings) -> GitRemote:
        return GitRemote(repository)  # a path git reads directly: no credentials

    def connect(self, site: ForgeSite, settings: Settings) -> ForgeClient:
        return LocalClient()


def _run(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        ["git", *SAFE_ARGS, *args],
        cwd=path,
        env=git_env(env),
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if done.returncode not in (0, 1):  # 1: "no" from --is-ancestor, -q, merge-tree
        raise GitError(list(args), done.returncode, done.stderr)
    return done.returncode, done.stdout.strip()


def _git(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    code, out = _run(path, *args, env=env)
    if code:
        raise GitError(list(args), code, "")
    return out


def _tip(path: Path, branch: str) -> str:
    code, found = _run(path, "rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}")
    if code:
        raise Conflict(f"Branch '{branch}' is not in {path}.")
    return found


def merge(path: Path, base: str, head: str, head_sha: str, message: str, author: str) -> str:
    """Merge branch ``head`` (which must still be at ``head_sha``, what taskyard pushed)
    into ``base`` in the repository at ``path``; returns the base's new commit."""
    tip = _tip(path, head)
    if tip != head_sha:
        raise Conflict(
            f"Branch '{head}' is at {tip[:12]}, not at {head_sha[:12]} as taskyard pushed it: "
            "review what changed before merging it by hand."
        )
    old = _tip(path, base)
    if _run(path, "merge-base", "--is-ancestor", tip, old)[0] == 0:
        return old  # merged already
    bare = _git(path, "rev-parse", "--is-bare-repository") == "true"
    if not bare and _run(path, "symbolic-ref", "-q", "HEAD")[1] == f"refs/heads/{base}":
        raise Conflict(
            f"'{base}' is checked out in {path}, so taskyard will not move it under its working "
            f"tree: run `git merge {head}` there, or use a bare repository as the remote."
        )
    code, written = _run(
        path, "merge-tree", "--write-tree", "--name-only", "--no-messages", old, tip
    )
    if code:
        files = ", ".join(written.splitlines()[1:6])
        raise Conflict(
            f"'{head}' does not merge cleanly into '{base}' (conflicts in {files}): ask the "
            "agent to rebase it, or merge it by hand."
        )
    who = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@taskyard.local", **COMMITTER}
    commit = _git(
        path, "commit-tree", written.splitlines()[0], "-p", old, "-p", tip, "-m", message, env=who
    )
    try:
        _git(path, "update-ref", f"refs/heads/{base}", commit, old)
    except GitError:
        raise Conflict(f"'{base}' moved while merging: try again.") from None
    return commit
