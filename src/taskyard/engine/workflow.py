"""The task workflow: carries one task through its stages, durably.

Deterministic orchestration only: every read and write goes through an
activity. People reach a running task through signals (message, approve,
request-changes, cancel) and read it through the ``state`` query.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutType,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from taskyard.engine.activities import TaskActivities
    from taskyard.engine.types import (
        DeliverInput,
        RunEnd,
        RunInput,
        SlotInput,
        StagePlan,
        StatusInput,
        TaskInput,
        TurnInput,
        TurnResult,
        WorkspaceHome,
        WorkspaceInput,
    )
    from taskyard.model.signals import Signal
    from taskyard.model.status import AgentState, TaskStatus

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
# A queued task is woken when given a slot; it also asks again this often, so a
# wake-up that was lost (its sender crashed) costs a delay, never a stuck task.
SLOT_RECHECK = timedelta(seconds=15)


class TaskCancelled(Exception):
    """A person cancelled the task while the workflow was doing something."""


def _home_gone(exc: ActivityError) -> bool:
    """Nobody took the activity from its home worker's queue in time: that worker is gone."""
    cause = exc.cause
    return isinstance(cause, ActivityTimeout) and cause.type == TimeoutType.SCHEDULE_TO_START


@workflow.defn(name="TaskWorkflow")
class TaskWorkflow:
    def __init__(self) -> None:
        self._inbox: list[Signal] = []  # approve / request-changes / cancel, in order
        self._messages: list[Signal] = []  # people's messages for the agent
        self._cancel: Signal | None = None
        self._status: str = TaskStatus.QUEUED
        self._stage = ""
        self._turn_running = False
        self._heartbeat_timeout = timedelta(seconds=10)
        self._homes = False  # this run routes checkout work to its home worker
        self._home = ""  # the task queue of the worker holding the checkout, once made
        self._slot_offered = False

    # Signals and query -------------------------------------------------------

    @workflow.signal(name="signal")
    def on_signal(self, signal: Signal) -> None:
        if signal.kind == "cancel":
            self._cancel = signal
        elif signal.kind == "message":
            self._messages.append(signal)
        else:
            self._inbox.append(signal)

    @workflow.signal(name="slot_free")
    def on_slot_free(self) -> None:
        self._slot_offered = True

    @workflow.query(name="state")
    def state(self) -> dict[str, Any]:
        return {
            "status": self._status,
            "stage": self._stage,
            "turn_running": self._turn_running,
            "queued_messages": len(self._messages),
        }

    # Helpers -----------------------------------------------------------------

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

    async def _turn(self, task: TaskInput, turn: TurnInput, doing: str) -> TurnResult:
        self._turn_running = True
        try:
            return await self._at_home(
                task, TaskActivities.run_turn, turn, timedelta(hours=24), doing
            )
        finally:
            self._turn_running = False

    async def _run_agent(
        self, task: TaskInput, stage: StagePlan, feedback: str = "", follow_up: str = ""
    ) -> TurnResult:
        """A run of the stage's agent in a slot of its team (services/concurrency.py)."""
        if not workflow.patched("team-slots"):
            return await self._agent_run(task, stage, feedback, follow_up)
        try:
            await self._take_slot(task)
            return await self._agent_run(task, stage, feedback, follow_up)
        finally:
            # Not through _act, which refuses to start anything once a cancel came.
            await asyncio.shield(
                workflow.execute_local_activity_method(
                    TaskActivities.release_slot,
                    SlotInput(task.task_id),
                    start_to_close_timeout=SHORT,
                    retry_policy=RETRY,
                )
            )

    async def _take_slot(self, task: TaskInput) -> None:
        """Wait in the team's line, ``queued``, until a slot is ours."""
        while True:
            self._slot_offered = False  # before asking: an offer during the ask counts
            claim = await self._act(TaskActivities.claim_slot, SlotInput(task.task_id))
            if claim.granted:
                return
            self._status = TaskStatus.QUEUED
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._slot_offered or self._cancel is not None,
                    timeout=SLOT_RECHECK,
                )
            if self._cancel is not None:
                raise TaskCancelled()

    async def _agent_run(
        self, task: TaskInput, stage: StagePlan, feedback: str, follow_up: str
    ) -> TurnResult:
        """A run of the stage's agent, delivering after it when the stage says so.

        Its first turn is the stage's prompt (with ``feedback`` from a change request),
        or ``follow_up``, a person's message to the agent's resumed session; then one
        turn per message that arrived meanwhile.
        """
        await self._status_to(
            task, TaskStatus.PROVISIONING, f"Preparing workspace for {stage.name}"
        )
        await self._provision(task)
        run_id = await self._act(TaskActivities.start_run, RunInput(task.task_id, stage.key))
        doing = f"{stage.name}: agent working"
        await self._status_to(task, TaskStatus.WORKING, doing)
        result = await self._turn(
            task,
            TurnInput(task.task_id, stage.key, run_id, 0, feedback=feedback, message=follow_up),
            doing,
        )
        turn = 1
        while self._messages and not result.stopped_by and result.state != AgentState.CANCELLED:
            message = self._messages.pop(0)
            result = await self._turn(
                task,
                TurnInput(
                    task.task_id,
                    stage.key,
                    run_id,
                    turn,
                    message=message.text,
                    session_id=result.session_id,
                ),
                doing,
            )
            turn += 1
        if result.state == AgentState.CANCELLED:  # the turn saw the cancel before the signal came
            raise TaskCancelled()
        ok = result.state != AgentState.FAILURE and not result.stopped_by
        end = RunEnd(run_id, TaskStatus.COMPLETED if ok else TaskStatus.FAILED)
        await self._act(TaskActivities.finish_run, end)
        if result.stopped_by:
            raise ApplicationError(f"Budget reached: {result.stopped_by}")
        if not ok:
            raise ApplicationError(f"{stage.name}: {result.message or 'agent failed'}")
        if stage.deliver:
            await self._at_home(
                task,
                TaskActivities.deliver,
                DeliverInput(task.task_id, stage.key),
                timedelta(minutes=10),
                f"{stage.name}: delivering",
            )
        return result

    async def _await_decision(self, task: TaskInput, stage: StagePlan) -> Signal:
        """Wait for approve or request-changes; messages meanwhile start new turns."""
        while True:
            await self._status_to(task, TaskStatus.WAITING, f"{stage.name}: waiting for approval")
            await workflow.wait_condition(
                lambda: bool(self._inbox) or bool(self._messages) or self._cancel is not None
            )
            if self._cancel is not None:
                raise TaskCancelled()
            if self._inbox:
                return self._inbox.pop(0)
            if stage.has_agent:
                await self._run_agent(task, stage, follow_up=self._messages.pop(0).text)
            else:
                self._messages.clear()

    # The workflow ------------------------------------------------------------

    @workflow.run
    async def run(self, task: TaskInput) -> str:
        try:
            return await self._run_stages(task)
        except TaskCancelled:
            by = self._cancel.by if self._cancel else ""
            await self._finish(
                task, TaskStatus.CANCELLED, f"Cancelled by {by}" if by else "Cancelled"
            )
            return TaskStatus.CANCELLED
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(task, TaskStatus.CANCELLED, "Workflow cancelled"))
            raise
        except (ActivityError, ApplicationError) as exc:
            cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
            await self._finish(task, TaskStatus.FAILED, str(getattr(cause, "message", cause)))
            return TaskStatus.FAILED

    async def _finish(self, task: TaskInput, status: str, message: str) -> None:
        self._status = status
        await workflow.execute_local_activity_method(
            TaskActivities.set_status,
            StatusInput(task.task_id, status, message),
            start_to_close_timeout=SHORT,
            retry_policy=RETRY,
        )

    async def _run_stages(self, task: TaskInput) -> str:
        # Runs started before workspaces had homes replay as they ran: on the shared queue.
        self._homes = workflow.patched("workspace-home")
        plan = await self._act(TaskActivities.load_plan, task)
        self._heartbeat_timeout = timedelta(seconds=plan.heartbeat_timeout)
        index = {s.key: i for i, s in enumerate(plan.stages)}
        i, feedback = 0, ""
        while i < len(plan.stages):
            stage = plan.stages[i]
            await self._status_to(
                task, TaskStatus.WORKING, f"Entered {stage.name}", stage=stage.key
            )
            if stage.has_agent:
                await self._run_agent(task, stage, feedback)
            feedback = ""
            if stage.gate == "approval":
                decision = await self._await_decision(task, stage)
                if decision.kind == "request_changes":
                    target = decision.target or stage.request_changes_to
                    i, feedback = index.get(target, i), decision.text
                    continue
            i += 1
        await self._finish(task, TaskStatus.COMPLETED, "All stages done")
        return TaskStatus.COMPLETED
