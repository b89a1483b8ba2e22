"""The local forge: repositories named by a path on this machine (or a file:// URL).

The one-machine setup and the tests use it. There is no forge API: taskyard's own
record of the pull request is the pull request, and there are no issues to
comment on. Which repositories may be named by path is the server's
configuration (``TASKYARD_LOCAL_REPOSITORY_ROOTS``), checked when a task is created.
"""

from __future__ import annotations

from taskyard.config import Settings
from taskyard.forges.base import Forge, ForgeClient, PullRequestDraft, RemotePullRequest
from taskyard.model.forge import ForgeSite, GitRemote


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
