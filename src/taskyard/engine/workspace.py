"""Preparing a task's workspace: its checkout on its branch, then the setup script."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from taskyard import telemetry
from taskyard.agents.registry import private_files
from taskyard.config import Settings
from taskyard.engine.layout import Workspace
from taskyard.model.errors import InvalidInput
from taskyard.model.redaction import Redactor
from taskyard.services.task_store import TaskStore
from taskyard.workspaces.files import make_owned_dir
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import create_checkout
from taskyard.workspaces.sandbox import SandboxRequest

TAIL_LINES = 20


class SetupFailed(InvalidInput):
    """The template's setup script exited non-zero; the message ends with its last lines."""


async def prepare_workspace(
    settings: Settings, store: TaskStore, task_id: int, heartbeat: Callable[[], None]
) -> None:
    """Check out the task's branch (once) and run the template's setup script (once)."""
    task = await asyncio.to_thread(store.facts, task_id)
    workspace = Workspace.of(settings, task.workspace_name, task.forge_site, task.repository)
    base, start = await create_checkout(
        workspace.remote,
        task.branch,
        task.base_branch,
        workspace.checkout,
        settings,
        not_before=task.created_at,  # a fetch started after the task was made will do
        private_files=private_files(),
    )
    if not task.base_commit:  # its first workspace: how long it waited for one
        telemetry.QUEUE_WAIT.observe(max(0.0, time.time() - task.created_at))
    await asyncio.to_thread(store.set_base, task_id, base, start)
    await asyncio.to_thread(make_owned_dir, workspace.home)
    spec = task.spec
    if not spec.setup.strip() or task.setup_done:
        return
    redactor = Redactor(task.known.values())
    process = await provider_for(spec.sandbox, settings).spawn(
        SandboxRequest(
            argv=["/bin/sh", "-ec", spec.setup],
            env=dict(spec.env),
            workdir=workspace.checkout,
            home=workspace.home,
            task_key=task.key,
            limits=spec.limits,
            network=spec.network,
            shared_objects=workspace.shared_objects,
        )
    )
    tail: list[str] = []
    try:
        async for raw in process.stdout:
            line = redactor.text(raw.decode(errors="replace").rstrip("\n"))
            tail = [*tail[-(TAIL_LINES - 1) :], line]
            await asyncio.to_thread(store.append_event, task_id, "setup", {"line": line})
            heartbeat()
        code = await process.wait()
    except BaseException:
        await process.kill()
        raise
    if code != 0:
        raise SetupFailed(f"Setup script failed (exit {code}):\n" + "\n".join(tail))
    await asyncio.to_thread(store.mark_setup_done, task_id)
