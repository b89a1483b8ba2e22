"""Talking to running task workflows: start, signal, query."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from taskyard.config import Settings
from taskyard.engine.github import DeliveryInput, DeliveryWorkflow, delivery_workflow_id
from taskyard.engine.schedule_client import TemporalSchedules
from taskyard.engine.types import TaskInput, TaskPlan, stage_plans
from taskyard.engine.workflow import TaskWorkflow
from taskyard.model.errors import Conflict, Unavailable
from taskyard.model.signals import Signal
from taskyard.model.workflow import Stage

# A query waits for a worker to answer it: with none up, a task's page would hang 30 s.
QUERY_TIMEOUT = timedelta(seconds=2)


def workflow_id(uid: str) -> str:
    return f"task-{uid}"


@dataclass
class Engine:
    """The API's handle on the engine."""

    client: Client
    settings: Settings
    task_queue: str

    @property
    def schedules(self) -> TemporalSchedules:
        return TemporalSchedules(self.client, self.task_queue)

    async def start(
        self, uid: str, task_id: int, key: str, stages: Sequence[Stage] | None = None
    ) -> None:
        """Start the task's workflow; starting one already started is a no-op.

        ``stages``: those of the workflow the task is pinned to, if the caller has them
        at hand; the workflow reads them itself otherwise, a step more.
        """
        plan = None
        if stages is not None:
            plan = TaskPlan(stage_plans(stages), self.settings.heartbeat_timeout)
        # With a worker of this process on the queue (one machine), the server hands
        # its first workflow task back in the start's answer, and the worker runs it
        # at once instead of waiting for it to be dispatched.
        inp = TaskInput(task_id, key, plan)
        await self._start(TaskWorkflow.run, inp, workflow_id(uid), eager=True)

    async def handle_delivery(self, delivery_id: str) -> None:
        """Start handling a stored GitHub delivery; one started already is a no-op."""
        run = DeliveryWorkflow.run
        await self._start(run, DeliveryInput(delivery_id), delivery_workflow_id(delivery_id))

    async def _start(self, run: Any, argument: Any, id: str, *, eager: bool = False) -> None:
        try:
            await self.client.start_workflow(
                run,
                argument,
                id=id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                request_eager_start=eager,
            )
        except WorkflowAlreadyStartedError:
            pass
        except RPCError as exc:
            raise Unavailable(f"The engine is unreachable: {exc}") from exc

    async def signal(self, uid: str, signal: Signal) -> None:
        handle = self.client.get_workflow_handle(workflow_id(uid))
        try:
            await handle.signal("signal", signal)
        except RPCError as exc:
            raise Conflict(f"The task is not running, so it cannot take '{signal.kind}'.") from exc

    async def wake(self, uid: str) -> None:
        """Tell a queued task's workflow it was given a slot; one that ended needs none."""
        handle = self.client.get_workflow_handle(workflow_id(uid))
        with contextlib.suppress(RPCError):
            await handle.signal(TaskWorkflow.on_slot_free)

    async def state(self, uid: str) -> dict[str, Any] | None:
        handle = self.client.get_workflow_handle(workflow_id(uid))
        try:
            description = await handle.describe()
            if description.status != WorkflowExecutionStatus.RUNNING:
                return None
            state: dict[str, Any] = await handle.query("state", rpc_timeout=QUERY_TIMEOUT)
            return state
        except RPCError:
            return None
