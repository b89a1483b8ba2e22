"""Preparing a task's workspace: its checkout on its branch, then the setup script."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.errors import InvalidInput
from taskyard.services import events, runs
from taskyard.services.template_spec import TemplateSpec
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import create_checkout
from taskyard.workspaces.sandbox import SandboxRequest

from .context import checkout_dir, home_dir

SETUP_MARKER = "taskyard-setup-done"
TAIL_LINES = 20


class SetupFailed(InvalidInput):
    """The template's setup script exited non-zero; the message ends with its last lines."""


def _load(settings: Settings, task_id: int) -> tuple[Task, TemplateSpec]:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task, runs.task_spec(session, task)


def _record(settings: Settings, task_id: int, kind: str, data: dict[str, object]) -> None:
    with session_scope(settings.resolved_database_url) as session:
        events.append(session, task_id, kind, data)


def _set_base(settings: Settings, task_id: int, base: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        if task is not None and not task.base_branch:
            task.base_branch = base


async def prepare_workspace(
    settings: Settings, task_id: int, heartbeat: Callable[[], None]
) -> None:
    """Check out the task's branch (once) and run the template's setup script (once)."""
    task, spec = await asyncio.to_thread(_load, settings, task_id)
    checkout = checkout_dir(settings, task)
    # SQLite hands back naive datetimes; they are UTC.
    created = task.created_at.replace(tzinfo=task.created_at.tzinfo or dt.UTC)
    base = await create_checkout(
        task.repository,
        task.branch,
        task.base_branch,
        checkout,
        settings,
        not_before=created.timestamp(),  # a fetch started after the task was made will do
    )
    await asyncio.to_thread(_set_base, settings, task_id, base)
    marker = checkout / ".git" / SETUP_MARKER
    if not spec.setup.strip() or marker.exists():
        return
    home = home_dir(settings, task)
    home.mkdir(parents=True, exist_ok=True)
    process = await provider_for(spec.sandbox).spawn(
        SandboxRequest(
            argv=["/bin/sh", "-ec", spec.setup],
            env=dict(spec.env),
            workdir=checkout,
            home=home,
            task_key=task.key,
            limits=spec.limits,
            network=spec.network,
        )
    )
    tail: list[str] = []
    try:
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            tail = [*tail[-(TAIL_LINES - 1) :], line]
            await asyncio.to_thread(_record, settings, task_id, "setup", {"line": line})
            heartbeat()
        code = await process.wait()
    except BaseException:
        await process.kill()
        raise
    if code != 0:
        raise SetupFailed(f"Setup script failed (exit {code}):\n" + "\n".join(tail))
    marker.write_text("")
