"""The forge interface: open or update a pull request, comment on an issue."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class PullRequestDraft:
    repository: str
    title: str
    body: str
    head: str
    base: str


@dataclass(frozen=True)
class RemotePullRequest:
    number: int
    url: str
    state: str = "open"


class Forge(ABC):
    name: str

    @abstractmethod
    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest | None:
        """Open the pull request, or find the open one for the same head.

        ``None`` means the forge keeps no record of its own and taskyard's record
        is the pull request (the local forge).
        """

    @abstractmethod
    async def comment(self, repository: str, issue_number: int, body: str) -> None:
        """Comment on an issue or pull request."""


class LocalForge(Forge):
    """For repositories given as a local path or file URL: taskyard records the PR."""

    name = "local"

    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest | None:
        return None

    async def comment(self, repository: str, issue_number: int, body: str) -> None:
        return None
