"""The start of an agent run, in its first turn: the team's slot, the run, the mirror.

A run's first turn (``TurnInput.begin``) takes its team's slot and starts the run
itself, in one transaction, instead of two workflow steps before it; the repository's
mirror is fetched meanwhile, since the workspace needs it next. Without a free slot
the turn runs nothing and says the task waits in line (see
:meth:`.workflow.TaskWorkflow._begun_run`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from taskyard.config import Settings
from taskyard.engine.layout import Workspace
from taskyard.engine.types import StatusInput, TurnInput, TurnResult
from taskyard.services.task_store import StatusChange, TaskFacts, TaskStore
from taskyard.workspaces.repos import ensure_mirror


def status_change(status: StatusInput | None) -> StatusChange | None:
    """A workflow's status change, as the store writes it."""
    return None if status is None else StatusChange(status.status, status.message, status.stage)


async def begin_run(
    settings: Settings,
    store: TaskStore,
    wake: Callable[[list[str]], Awaitable[None]],
    inp: TurnInput,
) -> tuple[TurnResult, TaskFacts]:
    """Claim the team's slot and start the run (or carry on with the one an earlier try
    of this turn started); meanwhile fetch the mirror, which is no waste if the task
    waits in line: the mirror is shared. ``wake``: the tasks the claim gave a slot to.

    Returns the run (``run_id``), or the task's place in line (``queued``), and the
    task's facts, read for the fetch.
    """
    assert inp.begin is not None
    fetching = asyncio.ensure_future(_fetch(settings, store, inp.task_id))
    try:
        claim, run_id = await asyncio.to_thread(
            store.begin_run,
            inp.task_id,
            inp.stage,
            status_change(inp.begin.entering),
            status_change(inp.begin.granted),
        )
        await wake(claim.wake)
    except BaseException:
        fetching.cancel()
        with contextlib.suppress(BaseException):
            await fetching
        raise
    # Its failure (a repository that cannot be fetched) is the task's, queued or not.
    task = await fetching
    if not claim.granted:
        return TurnResult(-1, "", "", queued=True, ahead=claim.ahead), task
    return TurnResult(0, "", "", run_id=run_id), task


async def _fetch(settings: Settings, store: TaskStore, task_id: int) -> TaskFacts:
    """The task's mirror as fresh as its checkout needs (see :func:`.repos.ensure_mirror`)."""
    task = await asyncio.to_thread(store.facts, task_id)
    workspace = await Workspace.at(settings, task.workspace_name, task.forge_site, task.repository)
    await ensure_mirror(workspace.remote, settings, not_before=task.created_at)
    return task
