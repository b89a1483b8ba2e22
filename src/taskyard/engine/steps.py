"""How the task workflow runs its activities: where, with what timeouts, and what a
cancel or a gone worker does to them.

:class:`Steps` is the task workflow's base: the workflow decides what happens in
what order (:mod:`taskyard.engine.workflow`); this runs each step. Database-only
steps are local activities; steps that need the task's checkout go to the worker
that holds it (see :mod:`taskyard.engine.home`), and move with the workspace when
that worker is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from taskyard.engine.activities import TaskActivities
    from taskyard.engine.types import StatusInput, TaskInput, WorkspaceHome, WorkspaceInput
    from taskyard.model.signals import Signal
    from taskyard.model.status import TaskStatus

A = TypeVar("A")
R = TypeVar("R")
Activity = Callable[[TaskActivities, A], Awaitable[R]]

SHORT = timedelta(seconds=30)
# Short database-only steps: local activities, in the worker that runs the workflow.
LOCAL: frozenset[Any] = frozenset(
    {
        TaskActivities.load_plan,
        TaskActivities.set_status,
        TaskActivities.start_run,
        TaskActivities.finish_run,
        TaskActivities.claim_slot,
        TaskActivities.release_slot,
    }
)
# A workspace that moves this often in one step has no worker that keeps it.
MAX_MOVES = 5
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


class TaskCancelled(Exception):
    """A person cancelled the task while the workflow was doing something."""


def _home_gone(exc: ActivityError) -> bool:
    """Nobody took the activity from its home worker's queue in time: that worker is gone."""
    cause = exc.cause
    return isinstance(cause, ActivityTimeout) and cause.type == TimeoutType.SCHEDULE_TO_START


class Steps:
    """The state every step reads: a cancel, the status, where the checkout lives."""

    def __init__(self) -> None:
        self._cancel: Signal | None = None
        self._status: str = TaskStatus.QUEUED
        self._stage = ""
        self._heartbeat_timeout = timedelta(seconds=10)
        self._homes = False  # this run routes checkout work to its home worker
        self._home = ""  # the task queue of the worker holding the checkout, once made

    async def _act(
        self,
        activity: Activity[A, R],
        arg: A,
        *,
        timeout: timedelta = SHORT,
        heartbeat: bool = False,
        queue: str = "",
    ) -> R:
        """Run an activity, abandoning it (cancelled, processes killed) on cancel.

        ``queue``: a worker's own task queue (the workspace's home); an attempt nobody
        takes from it within the heartbeat timeout fails with a schedule-to-start timeout.

        Short database-only steps run as local activities, in the worker that
        runs the workflow, which saves a round-trip through the server each.
        A cancel wins over an activity that finished at the same moment: nothing
        after it (a delivery, the next stage) may start.
        """
        if self._cancel is not None:
            raise TaskCancelled()
        handle: Any
        if activity in LOCAL:
            handle = workflow.start_local_activity_method(
                activity,
                arg,
                start_to_close_timeout=timeout,
                retry_policy=RETRY,
            )
            await workflow.wait_condition(lambda: handle.done() or self._cancel is not None)
            result = await handle
            if self._cancel is not None:
                raise TaskCancelled()
            return result  # type: ignore[no-any-return]
        handle = workflow.start_activity_method(
            activity,
            arg,
            start_to_close_timeout=timeout,
            heartbeat_timeout=self._heartbeat_timeout if heartbeat else None,
            task_queue=queue or None,
            schedule_to_start_timeout=self._heartbeat_timeout if queue else None,
            retry_policy=RETRY,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.wait_condition(lambda: handle.done() or self._cancel is not None)
        if not handle.done():
            handle.cancel()
            with contextlib.suppress(ActivityError, CancelledError):
                await handle
            raise TaskCancelled()
        result = await handle
        if self._cancel is not None:
            raise TaskCancelled()
        return result  # type: ignore[no-any-return]

    async def _status_to(
        self, task: TaskInput, status: str, message: str = "", stage: str | None = None
    ) -> None:
        self._status = status
        if stage is not None:
            self._stage = stage
        await self._act(
            TaskActivities.set_status, StatusInput(task.task_id, status, message, stage)
        )

    async def _provision(self, task: TaskInput) -> None:
        """Prepare the workspace at its home; on any worker if it has none, or that is gone."""
        inp = WorkspaceInput(task.task_id)
        timeout = timedelta(minutes=30)
        prepare = TaskActivities.prepare_workspace
        if not self._homes:
            await self._act(prepare, inp, timeout=timeout, heartbeat=True)
            return
        home: WorkspaceHome | None = None
        if self._home:
            try:
                home = await self._act(
                    prepare, inp, timeout=timeout, heartbeat=True, queue=self._home
                )
            except ActivityError as exc:
                if not _home_gone(exc):
                    raise
        if home is None:
            home = await self._act(prepare, inp, timeout=timeout, heartbeat=True)
        self._home = home.queue

    async def _at_home(
        self, task: TaskInput, activity: Activity[A, R], arg: A, timeout: timedelta, doing: str
    ) -> R:
        """Run an activity that needs the checkout on the worker that holds it.

        When that worker is gone, the workspace is prepared on another from the task's
        last checkpoint, and the activity runs there (``doing`` is the status to go
        back to). A turn's work is never lost with a worker: at most the try it killed.
        """
        for _ in range(MAX_MOVES):
            try:
                return await self._act(
                    activity, arg, timeout=timeout, heartbeat=True, queue=self._home
                )
            except ActivityError as exc:
                if not self._homes or not _home_gone(exc):
                    raise
            status = self._status
            self._home = ""
            await self._status_to(
                task,
                TaskStatus.PROVISIONING,
                "The worker holding the workspace is gone: preparing it on another "
                "from its last checkpoint",
            )
            await self._provision(task)
            await self._status_to(task, status, doing)
        raise ApplicationError(f"The workspace moved {MAX_MOVES} times; no worker kept it.")
