"""Preparing a task's workspace on this worker: its checkout as of the task's last
checkpoint, on its branch, with the template's setup script run in it.

A checkout is kept while its mark says it holds the latest checkpoint (see
:mod:`taskyard.engine.home`). Otherwise it is made again: a fresh checkout of the
base commit, brought to the checkpoint's work from the database. That is how a
workspace moves to another worker, and how a retried turn starts from the last
completed turn rather than from whatever a killed try left in the checkout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from taskyard import telemetry
from taskyard.agents.registry import private_files
from taskyard.config import Settings
from taskyard.engine.home import Mark, held, mark_path, read_mark, write_mark
from taskyard.engine.layout import Workspace
from taskyard.model.errors import InvalidInput
from taskyard.model.redaction import Redactor
from taskyard.services.task_store import TaskFacts, TaskStore
from taskyard.workspaces import pool, vault
from taskyard.workspaces.files import make_owned_dir
from taskyard.workspaces.providers import sandbox_for
from taskyard.workspaces.repos import create_checkout, ensure_mirror, reset_checkout
from taskyard.workspaces.sandbox import SandboxRequest
from taskyard.workspaces.snapshot import Snapshot

TAIL_LINES = 20


class SetupFailed(InvalidInput):
    """The template's setup script exited non-zero; the message ends with its last lines."""


async def current_mark(
    settings: Settings,
    store: TaskStore,
    task_id: int,
    heartbeat: Callable[[], None],
    task: TaskFacts | None = None,
) -> Mark:
    """What the task's checkout here holds, once it holds the latest checkpoint: a
    turn's check before its agent starts, which prepares the workspace again only
    when it must (a killed try's checkout, one made before a move).

    The caller holds the checkout (:func:`.home.held`); ``task``: its facts, if the
    caller read them already.
    """
    name, seq = await asyncio.to_thread(store.checkpoint_seq, task_id)
    mark = await asyncio.to_thread(read_mark, mark_path(settings, name))
    if mark is not None and mark.seq == seq and mark.setup:
        return mark
    if task is None:
        task = await asyncio.to_thread(store.facts, task_id)
    return await _prepare(settings, store, task, heartbeat, seq)


async def prepare_workspace(
    settings: Settings, store: TaskStore, task_id: int, heartbeat: Callable[[], None]
) -> Mark:
    """Bring the task's checkout here up to its latest checkpoint (once), set up (once)."""
    task = await asyncio.to_thread(store.facts, task_id)
    async with held(settings, task.workspace_name, store, task.id):
        return await _prepare(settings, store, task, heartbeat)


async def _prepare(
    settings: Settings,
    store: TaskStore,
    task: TaskFacts,
    heartbeat: Callable[[], None],
    seq: int | None = None,
) -> Mark:
    """``seq``: the task's latest checkpoint, if read already under the checkout's hold."""
    workspace = await Workspace.at(settings, task.workspace_name, task.forge_site, task.repository)
    mark = await asyncio.to_thread(read_mark, workspace.mark)
    if seq is None:
        _, seq = await asyncio.to_thread(store.checkpoint_seq, task.id)
    if mark is None or mark.seq != seq or not workspace.checkout.exists():
        mark = await _rebuild(settings, store, task, workspace)
    if not mark.setup:
        await _run_setup(settings, store, task, workspace, heartbeat)
        mark = Mark(mark.seq, setup=True, sessions=mark.sessions)
        await asyncio.to_thread(write_mark, workspace.mark, mark)
    return mark


async def _rebuild(
    settings: Settings, store: TaskStore, task: TaskFacts, workspace: Workspace
) -> Mark:
    """A checkout made afresh, then brought to the task's checkpoint (or its base commit)."""
    if workspace.checkout.exists():  # a killed try's, or an older checkpoint's
        await asyncio.to_thread(pool.discard, workspace.checkout, settings)
    base, start = await create_checkout(
        workspace.remote,
        task.branch,
        task.base_branch,
        workspace.checkout,
        settings,
        not_before=task.created_at,  # a fetch started after the task was made will do
        private_files=private_files(),
    )
    if task.base_commit:
        # Not the base's tip now: the commit its work started from, and the work since.
        checkpoint = await asyncio.to_thread(store.checkpoint, task.id)
        if checkpoint is None:
            await reset_checkout(workspace.checkout, task.base_commit, task.base_commit)
        else:
            mirror = await ensure_mirror(workspace.remote, settings, not_before=task.created_at)
            store_dir = await vault.open_vault(mirror, settings)
            ref = f"refs/taskyard/{task.workspace_name}/checkpoint"
            snapshot = Snapshot(checkpoint.head, checkpoint.agent_head, checkpoint.pack)
            await vault.import_snapshot(store_dir, snapshot, checkpoint.base, ref)
            await reset_checkout(
                workspace.checkout, checkpoint.head, checkpoint.agent_head, (store_dir, ref)
            )
        seq = checkpoint.seq if checkpoint else 0
    else:  # its first workspace: how long it waited for one
        telemetry.QUEUE_WAIT.observe(max(0.0, time.time() - task.created_at))
        recorded = await asyncio.to_thread(store.set_base, task.id, base, start)
        if recorded != start:
            # Another try recorded the task's base first (its facts were read before
            # that): the work starts from that commit, whatever the base's tip is now.
            await reset_checkout(workspace.checkout, recorded, recorded)
        seq = 0
    # The agent's sessions live in its home: one made here has none of the turns so far.
    sessions = workspace.home.exists()
    await asyncio.to_thread(make_owned_dir, workspace.home)
    mark = Mark(seq, setup=not task.spec.setup.strip(), sessions=sessions)
    await asyncio.to_thread(write_mark, workspace.mark, mark)
    return mark


async def _run_setup(
    settings: Settings,
    store: TaskStore,
    task: TaskFacts,
    workspace: Workspace,
    heartbeat: Callable[[], None],
) -> None:
    spec = task.spec
    redactor = Redactor(task.known.values())
    process = await sandbox_for(spec, settings).spawn(
        SandboxRequest(
            argv=["/bin/sh", "-ec", spec.setup],
            env=dict(spec.env),
            workdir=workspace.checkout,
            home=workspace.home,
            task_key=task.key,
            limits=spec.limits,
            network=spec.network,
            reachable=settings.allowed_hosts,
            shared_objects=workspace.shared_objects,
        )
    )
    tail: list[str] = []
    try:
        async for raw in process.stdout:
            line = redactor.text(raw.decode(errors="replace").rstrip("\n"))
            tail = [*tail[-(TAIL_LINES - 1) :], line]
            await asyncio.to_thread(store.append_event, task.id, "setup", {"line": line})
            heartbeat()
        code = await process.wait()
    except BaseException:
        await process.kill()
        raise
    if code != 0:
        raise SetupFailed(f"Setup script failed (exit {code}):\n" + "\n".join(tail))
