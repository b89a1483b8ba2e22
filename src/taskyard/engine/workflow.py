"""The task workflow: carries one task through its stages, durably.

Deterministic orchestration only: every read and write goes through an
activity. People reach a running task through signals (message, approve,
request-changes, cancel) and read it through the ``state`` query.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from taskyard.engine.activities import TaskActivities
    from taskyard.engine.steps import RETRY, SHORT, Steps, TaskCancelled
    from taskyard.engine.types import (
        DeliverInput,
        ReadyInput,
        RunEnd,
        RunInput,
        SlotInput,
        StagePlan,
        StatusInput,
        TaskInput,
        TurnInput,
        TurnResult,
    )
    from taskyard.model.signals import Signal
    from taskyard.model.status import AgentState, TaskStatus

# A queued task is woken when given a slot; it also asks again this often, so a
# wake-up that was lost (its sender crashed) costs a delay, never a stuck task.
SLOT_RECHECK = timedelta(seconds=15)
# The task's pull request merged or closed: the task ends wherever it is, as on a cancel.
ENDINGS = {
    "merged": (TaskStatus.COMPLETED, "Pull request merged"),
    "closed": (TaskStatus.CANCELLED, "Pull request closed without merging"),
}


# The patch of runs started with every change to this workflow up to plan-given: those
# changes' own patches (team-slots, workspace-home, fused-steps, turn-prepares,
# turn-begins, plan-given, ready-on-approval) are read only by runs started before it.
# A later change brings its own patch, as before.
CURRENT = "since-plan-given"


def _preparing(stage: StagePlan) -> str:
    return f"Preparing workspace for {stage.name}"


@workflow.defn(name="TaskWorkflow")
class TaskWorkflow(Steps):
    def __init__(self) -> None:
        super().__init__()
        self._inbox: list[Signal] = []  # approve / request-changes / cancel, in order
        self._messages: list[Signal] = []  # people's messages for the agent
        self._turn_running = False
        self._slot_offered = False
        self._fused = False  # the steps before an agent are fused (see _run_stages)
        self._prepares = False  # a turn prepares its own workspace (see _agent_run)
        self._begins = False  # a run's first turn claims the slot and starts it (_begun_run)
        self._current = False  # started since every change up to plan-given (_run_stages)

    # Signals and query -------------------------------------------------------

    @workflow.signal(name="signal")
    def on_signal(self, signal: Signal) -> None:
        if signal.kind == "cancel":
            self._cancel = signal
        elif signal.kind in ENDINGS:
            self._cancel = self._cancel or signal
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

    async def _turn(self, task: TaskInput, turn: TurnInput, doing: str) -> TurnResult:
        self._turn_running = True
        step = TaskActivities.run_first_turn if turn.begin else TaskActivities.run_turn
        try:
            result = await self._at_home(task, step, turn, timedelta(hours=24), doing)
        finally:
            self._turn_running = False
        if self._prepares and result.home:  # where the turn ran, its checkout now is
            self._home = result.home
        return result

    async def _run_agent(
        self,
        task: TaskInput,
        stage: StagePlan,
        feedback: str = "",
        follow_up: str = "",
        entering: StatusInput | None = None,
    ) -> TurnResult:
        """A run of the stage's agent in a slot of its team (services/concurrency.py).

        ``entering``: the stage's entry, written with the first claim of a slot.
        """
        if not (self._current or workflow.patched("team-slots")):
            return await self._agent_run(task, stage, feedback, follow_up)
        try:
            if self._begins:
                return await self._begun_run(task, stage, feedback, follow_up, entering)
            said = await self._take_slot(task, stage, entering)
            return await self._agent_run(task, stage, feedback, follow_up, provisioning_said=said)
        finally:
            # Not through _act, which refuses to start anything once a cancel came. Started,
            # then awaited: a worker that stops evicts the workflow mid-step, and a coroutine
            # made here then would never run (nor be awaited); a start simply fails.
            release = workflow.start_local_activity_method(
                TaskActivities.release_slot,
                SlotInput(task.task_id),
                start_to_close_timeout=SHORT,
                retry_policy=RETRY,
            )
            await asyncio.shield(release)

    async def _take_slot(
        self, task: TaskInput, stage: StagePlan, entering: StatusInput | None
    ) -> bool:
        """Wait in the team's line, ``queued``, until a slot is ours.

        True if the claim that got it also said the workspace is being prepared.
        """
        provisioning = (
            StatusInput(task.task_id, TaskStatus.PROVISIONING, _preparing(stage))
            if self._fused
            else None
        )
        while True:
            self._slot_offered = False  # before asking: an offer during the ask counts
            if entering is not None:
                self._status, self._stage = entering.status, entering.stage or self._stage
            claim = await self._act(
                TaskActivities.claim_slot, SlotInput(task.task_id, entering, provisioning)
            )
            entering = None
            if claim.granted:
                if provisioning is not None:
                    self._status = TaskStatus.PROVISIONING
                return provisioning is not None
            await self._wait_in_line()

    async def _wait_in_line(self) -> None:
        """``queued`` until a slot is offered (or the recheck is due); a cancel ends it."""
        self._status = TaskStatus.QUEUED
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._slot_offered or self._cancel is not None,
                timeout=SLOT_RECHECK,
            )
        if self._cancel is not None:
            raise TaskCancelled()

    async def _agent_run(
        self,
        task: TaskInput,
        stage: StagePlan,
        feedback: str,
        follow_up: str,
        provisioning_said: bool = False,
    ) -> TurnResult:
        """A run of the stage's agent, delivering after it when the stage says so.

        Its first turn is the stage's prompt (with ``feedback`` from a change request),
        or ``follow_up``, a person's message to the agent's resumed session; then one
        turn per message that arrived meanwhile.
        """
        if not provisioning_said:
            await self._status_to(task, TaskStatus.PROVISIONING, _preparing(stage))
        doing = f"{stage.name}: agent working"
        working = ""
        if self._prepares:
            # The turn prepares the workspace itself (on any worker, for a task that has
            # none yet) and says the agent is working once it is ready: one activity, and
            # one round trip through Temporal, less before the agent starts.
            run_id = await self._act(TaskActivities.start_run, RunInput(task.task_id, stage.key))
            self._status, working = TaskStatus.WORKING, doing
        elif self._fused:  # the run and its status in one step
            await self._provision(task)
            run_id = await self._act(
                TaskActivities.start_run, RunInput(task.task_id, stage.key, doing)
            )
            self._status = TaskStatus.WORKING
        else:
            await self._provision(task)
            run_id = await self._act(TaskActivities.start_run, RunInput(task.task_id, stage.key))
            await self._status_to(task, TaskStatus.WORKING, doing)
        first = TurnInput(task.task_id, stage.key, run_id, 0, feedback, follow_up, working=working)
        result = await self._turn(task, first, doing)
        return await self._run_on(task, stage, run_id, result, doing)

    async def _begun_run(
        self,
        task: TaskInput,
        stage: StagePlan,
        feedback: str,
        follow_up: str,
        entering: StatusInput | None,
    ) -> TurnResult:
        """A run whose first turn claims the team's slot and starts the run itself
        (``TurnInput.begin``): the agent starts one activity after the stage's plan,
        where a claim and a run's start were two steps more. Without a free slot the
        turn runs nothing, and the task waits in line, ``queued``, as in :meth:`_take_slot`.
        """
        doing = f"{stage.name}: agent working"
        provisioning = StatusInput(task.task_id, TaskStatus.PROVISIONING, _preparing(stage))
        while True:
            self._slot_offered = False  # before asking: an offer during the ask counts
            if entering is not None:
                self._status, self._stage = entering.status, entering.stage or self._stage
            begin = SlotInput(task.task_id, entering, provisioning)
            first = TurnInput(
                task.task_id, stage.key, 0, 0, feedback, follow_up, working=doing, begin=begin
            )
            result = await self._turn(task, first, doing)
            entering = None
            if not result.queued:
                break
            await self._wait_in_line()
        self._status = TaskStatus.WORKING
        return await self._run_on(task, stage, result.run_id, result, doing)

    async def _run_on(
        self, task: TaskInput, stage: StagePlan, run_id: int, result: TurnResult, doing: str
    ) -> TurnResult:
        """The run after its first turn: one turn per message that arrived meanwhile, its
        end, and the delivery when the stage says so."""
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
            status, message = _ended_by(self._cancel)
            await self._finish(task, status, message)
            return status
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
        # Every change below in one marker. Each patched() of a new run records a marker
        # and an upsert of its TemporalChangeVersion in its first workflow task, on the way
        # to its agent: six of each, where this is one. Runs started before it replay
        # through each change's own patch, as they ran.
        self._current = workflow.patched(CURRENT)
        # Runs started before workspaces had homes replay as they ran: on the shared queue.
        self._homes = self._current or workflow.patched("workspace-home")
        # Runs started before the steps before an agent were fused replay as they ran.
        self._fused = self._current or workflow.patched("fused-steps")
        # Runs started before a turn prepared its own workspace replay as they ran.
        self._prepares = self._current or (self._homes and workflow.patched("turn-prepares"))
        # Runs started before a run's first turn claimed its slot replay as they ran.
        self._begins = self._current or (
            self._prepares and self._fused and workflow.patched("turn-begins")
        )
        # Given by whoever started it, or read (runs started before plans were given
        # replay as they ran).
        given = task.plan is not None and (self._current or workflow.patched("plan-given"))
        plan = task.plan if given else None
        if plan is None:
            plan = await self._act(TaskActivities.load_plan, task)
        self._heartbeat_timeout = timedelta(seconds=plan.heartbeat_timeout)
        index = {s.key: i for i, s in enumerate(plan.stages)}
        i, feedback = 0, ""
        while i < len(plan.stages):
            stage = plan.stages[i]
            entered = f"Entered {stage.name}"
            entering = StatusInput(task.task_id, TaskStatus.WORKING, entered, stage.key)
            if stage.has_agent and self._fused:
                await self._run_agent(task, stage, feedback, entering=entering)
            else:
                await self._status_to(task, entering.status, entering.message, stage=stage.key)
                if stage.has_agent:
                    await self._run_agent(task, stage, feedback)
            feedback = ""
            if stage.gate == "approval":
                decision = await self._await_decision(task, stage)
                if decision.kind == "request_changes":
                    target = decision.target or stage.request_changes_to
                    i, feedback = index.get(target, i), decision.text
                    continue
                if self._current or workflow.patched("ready-on-approval"):  # drafts become ready
                    ready = ReadyInput(task.task_id)
                    await self._act(TaskActivities.mark_ready, ready, timeout=timedelta(minutes=5))
            i += 1
        await self._finish(task, TaskStatus.COMPLETED, "All stages done")
        return TaskStatus.COMPLETED


def _ended_by(signal: Signal | None) -> tuple[str, str]:
    """The status and message of a task a signal stopped: a cancel, or its pull request's end."""
    if signal is not None and signal.kind in ENDINGS:
        return ENDINGS[signal.kind]
    by = signal.by if signal else ""
    return TaskStatus.CANCELLED, f"Cancelled by {by}" if by else "Cancelled"
