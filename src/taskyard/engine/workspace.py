"""Preparing a task's workspace: its checkout on its branch, then the setup script."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from taskyard.config import Settings
from taskyard.db.models import Task, utcnow
from taskyard.db.session import session_scope
from taskyard.model.errors import InvalidInput
from taskyard.model.redaction import Redactor
from taskyard.model.template import TemplateSpec
from taskyard.services import events, runs, secrets
from taskyard.workspaces.files import make_owned_dir
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.repos import create_checkout, mirror_objects
from taskyard.workspaces.sandbox import SandboxRequest

from .context import checkout_dir, home_dir

TAIL_LINES = 20


class SetupFailed(InvalidInput):
    """The template's setup script exited non-zero; the message ends with its last lines."""


def _load(settings: Settings, task_id: int) -> tuple[Task, TemplateSpec, dict[str, str]]:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        known = secrets.known_values(session, settings, task.org_id)
        return task, runs.task_spec(session, task), known


def _record(settings: Settings, task_id: int, kind: str, data: dict[str, object]) -> None:
    with session_scope(settings.resolved_database_url) as session:
        events.append(session, task_id, kind, data)


def _set_base(settings: Settings, task_id: int, base: str, start: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        if task is None:
            return
        task.base_branch = task.base_branch or base
        task.base_commit = task.base_commit or start


def _setup_done(settings: Settings, task_id: int) -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        if task is not None:
            task.setup_done_at = utcnow()


async def prepare_workspace(
    settings: Settings, task_id: int, heartbeat: Callable[[], None]
) -> None:
    """Check out the task's branch (once) and run the template's setup script (once)."""
    task, spec, known = await asyncio.to_thread(_load, settings, task_id)
    checkout = checkout_dir(settings, task)
    # SQLite hands back naive datetimes; they are UTC.
    created = task.created_at.replace(tzinfo=task.created_at.tzinfo or dt.UTC)
    base, start = await create_checkout(
        task.repository,
        task.branch,
        task.base_branch,
        checkout,
        settings,
        not_before=created.timestamp(),  # a fetch started after the task was made will do
    )
    await asyncio.to_thread(_set_base, settings, task_id, base, start)
    home = home_dir(settings, task)
    await asyncio.to_thread(make_owned_dir, home)
    if not spec.setup.strip() or task.setup_done_at is not None:
        return
    redactor = Redactor(known.values())
    process = await provider_for(spec.sandbox, settings).spawn(
        SandboxRequest(
            argv=["/bin/sh", "-ec", spec.setup],
            env=dict(spec.env),
            workdir=checkout,
            home=home,
            task_key=task.key,
            limits=spec.limits,
            network=spec.network,
            shared_objects=mirror_objects(task.repository, settings),
        )
    )
    tail: list[str] = []
    try:
        async for raw in process.stdout:
            line = redactor.text(raw.decode(errors="replace").rstrip("\n"))
            tail = [*tail[-(TAIL_LINES - 1) :], line]
            await asyncio.to_thread(_record, settings, task_id, "setup", {"line": line})
            heartbeat()
        code = await process.wait()
    except BaseException:
        await process.kill()
        raise
    if code != 0:
        raise SetupFailed(f"Setup script failed (exit {code}):\n" + "\n".join(tail))
    await asyncio.to_thread(_setup_done, settings, task_id)
