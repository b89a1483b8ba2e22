"""An agent's work, brought from its checkout into the vault and read from there.

The one place delivery and the published diff get at what an agent changed: a
snapshot taken in the task's sandbox (:mod:`taskyard.workspaces.snapshot`),
imported and checked in the vault (:mod:`taskyard.workspaces.vault`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from taskyard.agents.registry import private_files
from taskyard.config import Settings
from taskyard.engine.layout import Workspace
from taskyard.model.diff import DiffStats
from taskyard.model.errors import Permanent
from taskyard.model.redaction import Redactor
from taskyard.services.task_store import TaskFacts, TaskStore
from taskyard.workspaces import pool, vault
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import ensure_mirror
from taskyard.workspaces.sandbox import SandboxRequest
from taskyard.workspaces.snapshot import Mode, take_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """The task's work as the vault holds it."""

    vault: Path
    base: str
    head: str
    stats: DiffStats
    patch: str


async def base_commit(settings: Settings, task: TaskFacts, workspace: Workspace) -> str:
    """The commit the task's branch started at: recorded when the checkout was made.

    Tasks whose checkout predates that record fall back to the base branch's tip
    in the server's own mirror.
    """
    if task.base_commit:
        return task.base_commit
    mirror = await ensure_mirror(workspace.remote, settings, not_before=0)
    tip, _ = await pool.mirror_refs(mirror, task.base_branch)
    return tip


async def collect_work(
    settings: Settings, task: TaskFacts, *, mode: Mode, message: str
) -> Work | None:
    """Export, check and import the task's work; ``None`` if it has no checkout here."""
    workspace = Workspace.of(settings, task.workspace_name, task.forge_site, task.repository)
    if not workspace.checkout.exists():
        return None
    base = await base_commit(settings, task, workspace)
    spec = task.spec
    request = SandboxRequest(
        argv=[],
        env={},
        workdir=workspace.checkout,
        home=workspace.home,
        task_key=task.key,
        limits=spec.limits,
        image=spec.image,
        shared_objects=workspace.shared_objects,
    )
    snapshot = await take_snapshot(
        provider_for(spec.sandbox, settings),
        request,
        base=base,
        mode=mode,
        message=message,
        author=(settings.git_author_name, settings.git_author_email),
        max_bytes=settings.snapshot_max_mb << 20,
        private_files=private_files(),
    )
    store = await vault.open_vault(workspace.shared_objects.parent, settings)
    ref = f"refs/taskyard/{task.workspace_name}/{'work' if mode == 'commit' else 'live'}"
    head = await vault.import_snapshot(store, snapshot, base, ref)
    stats, patch = await vault.diff_stats(store, base, head)
    return Work(store, base, head, stats, patch)


async def publish_live_diff(settings: Settings, store: TaskStore, task_id: int) -> None:
    """Publish everything on the task's branch so far, committed or not, against its
    base, with known secrets masked: what the API shows as the task's diff.

    Run on the worker that holds the checkout; the API never reads a checkout.
    Nothing is published for a task with no checkout here.
    """
    task = await asyncio.to_thread(store.facts, task_id)
    work = await collect_work(settings, task, mode="peek", message="work in progress")
    if work is not None:
        patch = Redactor(task.known.values()).text(work.patch)
        await asyncio.to_thread(store.publish_diff, task_id, work.head, work.stats, patch)


class DiffPublisher:
    """Publishes tasks' diffs after their turns, beside the workflow rather than in its way.

    A turn's result goes back to the workflow at once; its diff follows a moment
    later (an export starts a sandbox). A few run at once per worker; a task asked
    for again while its diff is being published gets one more run after it, never
    two at once. A failed export (work the checks refuse) is said in the task's
    events: delivery will refuse the same work with the same reason.
    """

    def __init__(self, settings: Settings, store: TaskStore, at_once: int = 4) -> None:
        self.settings = settings
        self.store = store
        self._gate = asyncio.Semaphore(at_once)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    def schedule(self, task_id: int) -> None:
        if task_id in self._running:
            self._again.add(task_id)
            return
        self._running[task_id] = asyncio.create_task(self._publish(task_id))

    async def _publish(self, task_id: int) -> None:
        try:
            while True:
                self._again.discard(task_id)
                async with self._gate:
                    await self._publish_once(task_id)
                if task_id not in self._again:
                    return
        finally:
            del self._running[task_id]

    async def _publish_once(self, task_id: int) -> None:
        try:
            await publish_live_diff(self.settings, self.store, task_id)
        except Permanent as exc:
            log.warning("task %s: the diff could not be published: %s", task_id, exc)
            data = {"type": "error", "message": f"The diff could not be published: {exc}"}
            await asyncio.to_thread(self.store.append_event, task_id, "agent", data)
        except Exception:
            log.exception("task %s: publishing its diff failed", task_id)

    async def settle(self, task_id: int) -> None:
        """Wait for the task's diff being published, if it is: a task reads as ended only
        once nothing of it runs."""
        while (running := self._running.get(task_id)) is not None:
            await asyncio.wait({running})

    async def drain(self) -> None:
        """Wait for the diffs being published (a stopping worker)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
