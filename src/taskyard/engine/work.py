"""An agent's work, brought from its checkout into the vault and read from there.

The one place delivery, the published diff and the checkpoint get at what an
agent changed: a snapshot taken in the task's sandbox
(:mod:`taskyard.workspaces.snapshot`), imported and checked in the vault
(:mod:`taskyard.workspaces.vault`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from taskyard.agents.registry import private_files
from taskyard.config import Settings
from taskyard.engine.layout import Workspace
from taskyard.model.checkpoint import Checkpoint
from taskyard.model.diff import DiffStats
from taskyard.model.errors import Permanent
from taskyard.model.redaction import Redactor
from taskyard.services.task_store import SavedWork, TaskFacts, TaskStore
from taskyard.workspaces import vault
from taskyard.workspaces.clone_refs import mirror_refs
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import ensure_mirror
from taskyard.workspaces.sandbox import SandboxRequest
from taskyard.workspaces.snapshot import Mode, Snapshot, take_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """The task's work as the vault holds it, and the snapshot it came in."""

    vault: Path
    base: str
    head: str
    stats: DiffStats
    patch: str
    snapshot: Snapshot

    def saved(self, known: Iterable[str]) -> SavedWork:
        """What the database keeps of it: the checkpoint, and the diff with ``known``
        secret values masked."""
        checkpoint = Checkpoint(
            0, self.base, self.head, self.snapshot.agent_head, self.snapshot.pack
        )
        return SavedWork(checkpoint, self.stats, Redactor(known).text(self.patch))


async def base_commit(settings: Settings, task: TaskFacts, workspace: Workspace) -> str:
    """The commit the task's branch started at: recorded when the checkout was made.

    Tasks whose checkout predates that record fall back to the base branch's tip
    in the server's own mirror.
    """
    if task.base_commit:
        return task.base_commit
    mirror = await ensure_mirror(workspace.remote, settings, not_before=0)
    return (await mirror_refs(mirror, task.base_branch)).tip


async def collect_work(
    settings: Settings, task: TaskFacts, *, mode: Mode, message: str
) -> Work | None:
    """Export, check and import the task's work; ``None`` if it has no checkout here."""
    workspace = await Workspace.at(settings, task.workspace_name, task.forge_site, task.repository)
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
    return Work(store, base, head, stats, patch, snapshot)


async def turn_work(store: TaskStore, settings: Settings, task_id: int) -> SavedWork | None:
    """Everything on the task's branch after a turn, committed or not: its checkpoint
    and the diff the API shows. The checkout is left as it was.

    Work the export or the vault refuses is said in the task's events (delivery
    would refuse it with the same reason) and gives ``None``: the task keeps its
    last checkpoint and diff.
    """
    task = await asyncio.to_thread(store.facts, task_id)
    try:
        work = await collect_work(settings, task, mode="peek", message="work in progress")
    except Permanent as exc:
        log.warning("task %s: its work could not be saved: %s", task_id, exc)
        said = Redactor(task.known.values()).text(str(exc))
        data = {"type": "error", "message": f"The diff could not be published: {said}"}
        await asyncio.to_thread(store.append_event, task_id, "agent", data)
        return None
    return None if work is None else work.saved(task.known.values())
