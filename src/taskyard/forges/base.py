"""The forge interface, and the registry every forge (built-in or not) is found in.

A forge is one module owning everything taskyard needs to know about a kind of
code host: the repository names it takes, the URL git fetches and pushes
through, the credentials for git and for its API, the wording of a pull request,
and the API calls that open one and comment on an issue. Forges are plug-ins of
the ``taskyard.forges`` entry-point group (see :mod:`taskyard.model.registry`);
which one a repository uses is configuration (:mod:`taskyard.services.forges`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

from taskyard.config import Settings
from taskyard.model import registry
from taskyard.model.diff import DiffStats
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.forge import ForgeSite, GitRemote, origin


class CommentGone(NotFound):
    """The comment to edit is no longer there (a person deleted it)."""


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
    node_id: str = ""  # the forge's global id, where it has one (GitHub's GraphQL id)
    draft: bool = False


@dataclass(frozen=True)
class DeliveredWork:
    """What a pull request is written from: the task, its branch and its changes."""

    repository: str
    key: str
    title: str
    description: str
    head: str
    base: str
    stats: DiffStats
    link: str = ""  # the task's page, when the server knows its public URL
    issue_number: int = 0  # the issue the task came from, 0 if none


class ForgeClient(ABC):
    """One delivery's conversation with a forge's API: use it as ``async with``,
    so whatever connection it holds is closed when the delivery ends."""

    @abstractmethod
    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest | None:
        """Open the pull request, or find the open one for the same head.

        ``None`` means the forge keeps no record of its own and taskyard's record
        is the pull request (the local forge).
        """

    @abstractmethod
    async def comment(self, repository: str, issue_number: int, body: str) -> int:
        """Comment on an issue or pull request; the comment's id (0: the forge keeps none)."""

    @abstractmethod
    async def edit_comment(self, repository: str, comment_id: int, body: str) -> None:
        """Replace a comment's text; :class:`CommentGone` if it was deleted."""

    @abstractmethod
    async def mark_ready(self, repository: str, pull: RemotePullRequest) -> None:
        """Mark a draft pull request ready for review."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the connection; the client is not used again."""

    async def __aenter__(self) -> ForgeClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class Forge(ABC):
    """A kind of forge; built once per process by the registry, holding no connection."""

    kind: str

    @abstractmethod
    def remote(self, repository: str, site: ForgeSite, settings: Settings) -> GitRemote:
        """Where git fetches and pushes ``repository``, with the credentials it needs."""

    @abstractmethod
    def connect(self, site: ForgeSite, settings: Settings) -> ForgeClient:
        """A client of the forge's API for one delivery (raises if it cannot have one)."""

    def default_origins(self, settings: Settings) -> frozenset[str]:
        """Where this forge's empty URLs point: the server's own configuration."""
        return frozenset()

    def check_site(self, site: ForgeSite, settings: Settings) -> None:
        """Refuse ``site`` unless each of its URLs is on an origin the server's operator
        allows: the server's credentials, and its requests, go to them.

        An organization's admin names the URLs; the credentials are the whole server's.
        Checked where a setting is made and again wherever a site is used, so a site saved
        before the rule (or an operator's narrowing of it) is refused too.
        """
        allowed = self.default_origins(settings) | settings.allowed_forge_origins
        for name, url in (("url", site.url), ("api_url", site.api_url)):
            try:
                if not url or origin(url) in allowed:
                    continue
            except ValueError:
                pass
            listed = ", ".join(sorted(allowed)) or "none"
            raise InvalidInput(
                f"The forge's {name} {url[:200]} is not a site this server sends its "
                f"credentials to (allowed: {listed}); the server's operator can add its "
                "origin to TASKYARD_FORGE_ORIGINS."
            )

    def closing_words(self, issue_number: int) -> str:
        """The line that closes the originating issue when the pull request merges."""
        return ""

    def draft(self, work: DeliveredWork) -> PullRequestDraft:
        """The pull request taskyard opens for ``work``: its title and body."""
        opened = (
            f"Opened by taskyard for task [{work.key}]({work.link})."
            if work.link
            else f"Opened by taskyard for task {work.key}."
        )
        stats = work.stats
        lines = [
            opened,
            "",
            work.description.strip() or work.title,
            "",
            f"{stats.files_changed} file(s) changed, +{stats.additions} -{stats.deletions}.",
        ]
        closing = self.closing_words(work.issue_number) if work.issue_number else ""
        if closing:
            lines += ["", closing]
        return PullRequestDraft(
            repository=work.repository,
            title=f"{work.key}: {work.title}",
            body="\n".join(lines),
            head=work.head,
            base=work.base,
        )

    def opened_comment(self, pull: RemotePullRequest, key: str) -> str:
        """What taskyard says on the originating issue once the pull request exists."""
        return f"taskyard opened {pull.url} for {key}."


FORGES: registry.Registry[Forge] = registry.Registry(registry.FORGES, "forge")


def git_remote(site: ForgeSite, repository: str, settings: Settings) -> GitRemote:
    """Where git reaches ``repository`` on the forge at ``site``."""
    return FORGES.get(site.kind).remote(repository, site, settings)
