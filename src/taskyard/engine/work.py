"""An agent's work, brought from its checkout into the vault and read from there.

The one place delivery and the diff view get at what an agent changed: a
snapshot taken in the task's sandbox (:mod:`taskyard.workspaces.snapshot`),
imported and checked in the vault (:mod:`taskyard.workspaces.vault`).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.model.diff import DiffStats
from taskyard.model.redaction import Redactor
from taskyard.model.template import TemplateSpec
from taskyard.workspaces import pool, vault
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import ensure_mirror, mirror_objects
from taskyard.workspaces.sandbox import SandboxRequest
from taskyard.workspaces.snapshot import Mode, take_snapshot

from .context import checkout_dir, home_dir, workspace_name

LIVE_EXPORTS = 4  # live diffs exported at once per process (each starts a sandbox)
_LIVE_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Work:
    """The task's work as the vault holds it."""

    vault: Path
    base: str
    head: str
    stats: DiffStats
    patch: str


async def base_commit(settings: Settings, task: Task) -> str:
    """The commit the task's branch started at: recorded when the checkout was made.

    Tasks whose checkout predates that record fall back to the base branch's tip
    in the server's own mirror.
    """
    if task.base_commit:
        return task.base_commit
    mirror = await ensure_mirror(task.repository, settings, not_before=0)
    tip, _ = await pool.mirror_refs(mirror, task.base_branch)
    return tip


async def collect_work(
    settings: Settings, task: Task, spec: TemplateSpec, *, mode: Mode, message: str
) -> Work | None:
    """Export, check and import the task's work; ``None`` if it has no checkout yet."""
    checkout = checkout_dir(settings, task)
    if not checkout.exists():
        return None
    base = await base_commit(settings, task)
    request = SandboxRequest(
        argv=[],
        env={},
        workdir=checkout,
        home=home_dir(settings, task),
        task_key=task.key,
        limits=spec.limits,
        image=spec.image,
        shared_objects=mirror_objects(task.repository, settings),
    )
    snapshot = await take_snapshot(
        provider_for(spec.sandbox, settings),
        request,
        base=base,
        mode=mode,
        message=message,
        author=(settings.git_author_name, settings.git_author_email),
        max_bytes=settings.snapshot_max_mb << 20,
    )
    mirror = mirror_objects(task.repository, settings).parent
    store = await vault.open_vault(mirror, settings)
    ref = f"refs/taskyard/{workspace_name(task)}/{'work' if mode == 'commit' else 'live'}"
    head = await vault.import_snapshot(store, snapshot, base, ref)
    stats, patch = await vault.diff_stats(store, base, head)
    return Work(store, base, head, stats, patch)


async def live_patch(
    settings: Settings, task: Task, spec: TemplateSpec, known: dict[str, str]
) -> str | None:
    """Everything on the task's branch so far, committed or not, against its base,
    with known secrets masked; ``None`` if the task has no checkout.

    Each call starts a sandbox, and any reader may ask: a few run at once per
    process, the rest wait their turn.
    """
    gate = _LIVE_GATES.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(LIVE_EXPORTS))
    async with gate:
        work = await collect_work(settings, task, spec, mode="peek", message="work in progress")
    return None if work is None else Redactor(known.values()).text(work.patch)
