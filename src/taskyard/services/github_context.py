"""What the engine's handling of a GitHub delivery may use: :class:`IntakeContext`.

The intake (:mod:`taskyard.services.github_intake`) and the review loop
(:mod:`taskyard.services.github_reviews`) get one from the activity that handles a
delivery. It holds no connection of its own: a session or a GitHub client is made
when asked for, and the engine is reached through the worker's Temporal client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.session import session_scope
from taskyard.forges.github import GitHubClient, GitHubForge
from taskyard.model.forge import ForgeSite
from taskyard.model.signals import Signal
from taskyard.services import forge_settings

GITHUB = ForgeSite("github")


class TaskEngine(Protocol):
    """The engine's handle on task workflows (:class:`taskyard.engine.client.Engine`)."""

    async def start(self, uid: str, task_id: int, key: str) -> None: ...
    async def signal(self, uid: str, signal: Signal) -> None: ...


@dataclass(frozen=True)
class IntakeContext:
    settings: Settings
    engine: TaskEngine
    forge: GitHubForge  # one per worker: it caches a GitHub App's installation tokens

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A short session that commits on success. Blocking: use it in a thread
        (``asyncio.to_thread``), never on the event loop."""
        with session_scope(self.settings.resolved_database_url, write=write) as session:
            yield session

    async def github(self, org_id: int, repository: str) -> GitHubClient:
        """A REST client for ``repository`` as organization ``org_id`` reaches it (its
        forge setting when that is a GitHub, else github.com); close it after use
        (``async with``)."""

        def site() -> ForgeSite:
            with self.session(write=False) as session:
                found = forge_settings.site_for(session, org_id, repository)
            return found if found.kind == GITHUB.kind else GITHUB

        return self.forge.connect(await asyncio.to_thread(site), self.settings)
