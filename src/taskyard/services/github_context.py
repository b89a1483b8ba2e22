"""What the engine's handling of a GitHub delivery may use: :class:`IntakeContext`.

The intake (:mod:`taskyard.services.github_intake`) and the review loop
(:mod:`taskyard.services.github_reviews`) get one from the activity that handles a
delivery. It holds no connection of its own: a session or a GitHub client is made
when asked for, and the engine is reached through the worker's Temporal client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import get_sessionmaker, session_scope
from taskyard.forges.base import FORGES
from taskyard.forges.github import GitHubClient, GitHubForge
from taskyard.model.forge import ForgeSite
from taskyard.model.signals import Signal
from taskyard.model.workflow import Stage
from taskyard.services import forge_settings, workflows

GITHUB = ForgeSite("github")


class TaskEngine(Protocol):
    """The engine's handle on task workflows (:class:`taskyard.engine.client.Engine`)."""

    async def start(
        self, uid: str, task_id: int, key: str, stages: Sequence[Stage] | None = None
    ) -> None: ...
    async def signal(self, uid: str, signal: Signal) -> None: ...


def github_forge() -> GitHubForge:
    """The process's GitHub forge: the one that delivers, whose App tokens are cached."""
    forge = FORGES.get(GITHUB.kind)
    assert isinstance(forge, GitHubForge), forge
    return forge


class ThreadEngine:
    """``engine`` for services that run in a worker thread (``asyncio.to_thread``) and
    take a synchronous engine (:class:`taskyard.services.actions.EngineLike`): each call
    runs on ``loop``, the event loop the thread was started from, and is waited for."""

    def __init__(self, engine: TaskEngine, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop

    def check(self) -> None:
        """The worker's engine is connected: it is running this code."""

    def start(self, task: Task, stages: list[Stage] | None = None) -> None:
        stages = stages if stages is not None else workflows.pinned_stages(task)
        self._wait(self._engine.start(task.uid, task.id, task.key, stages))

    def signal(self, task: Task, signal: Signal) -> None:
        self._wait(self._engine.signal(task.uid, signal))

    def state(self, task: Task) -> dict[str, Any] | None:
        return None  # nothing here asks a workflow's live state

    def _wait(self, call: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(call, self._loop).result()


@dataclass(frozen=True)
class IntakeContext:
    settings: Settings
    engine: TaskEngine
    forge: GitHubForge = field(default_factory=github_forge)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A short session that commits on success. Blocking: use it in a thread
        (``asyncio.to_thread``), never on the event loop."""
        with session_scope(self.settings.resolved_database_url, write=write) as session:
            yield session

    def sessions(self, *, write: bool = False) -> sessionmaker[Session]:
        """A session factory (for code that opens its own sessions and commits itself)."""
        return get_sessionmaker(self.settings.resolved_database_url, write)

    async def github(self, org_id: int, repository: str) -> GitHubClient:
        """A REST client for ``repository`` as organization ``org_id`` reaches it (its
        forge setting when that is a GitHub, else github.com); close it after use
        (``async with``)."""

        def site() -> ForgeSite:
            with self.session(write=False) as session:
                found = forge_settings.site_for(session, org_id, repository)
            return found if found.kind == GITHUB.kind else GITHUB

        return self.forge.connect(await asyncio.to_thread(site), self.settings)
