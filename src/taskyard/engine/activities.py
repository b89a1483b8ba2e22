"""Temporal activities: every piece of I/O the task workflow does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from taskyard.config import Settings
from taskyard.db.models import Task, Workflow
from taskyard.db.session import session_scope
from taskyard.engine import delivery, turns, workspace
from taskyard.engine.types import (
    DeliverInput,
    DeliveryResult,
    RunEnd,
    RunInput,
    StagePlan,
    StatusInput,
    TaskInput,
    TaskPlan,
    TurnInput,
    TurnResult,
    WorkspaceInput,
)
from taskyard.model.errors import InvalidInput
from taskyard.model.workflow import Stage
from taskyard.services import runs, tasks
from taskyard.workspaces.git import GitError


def _permanent(exc: Exception) -> ApplicationError:
    """A failure retrying cannot fix; the task fails with this message."""
    return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True)


@dataclass
class TaskActivities:
    settings: Settings

    @property
    def _url(self) -> str:
        return self.settings.resolved_database_url

    @activity.defn(name="load_plan")
    async def load_plan(self, inp: TaskInput) -> TaskPlan:
        def load() -> TaskPlan:
            with session_scope(self._url) as session:
                task = session.get(Task, inp.task_id)
                if task is None:
                    raise _permanent(InvalidInput(f"Task {inp.task_id} no longer exists."))
                workflow = session.get(Workflow, task.workflow_id)
                assert workflow is not None
                stages = [Stage.model_validate(s) for s in workflow.stages]
                return TaskPlan(
                    stages=[
                        StagePlan(
                            key=s.key,
                            name=s.name,
                            has_agent=s.agent is not None,
                            gate=s.gate,
                            deliver=s.deliver,
                            request_changes_to=s.request_changes_to or s.key,
                        )
                        for s in stages
                    ]
                )

        return await asyncio.to_thread(load)

    @activity.defn(name="set_status")
    async def set_status(self, inp: StatusInput) -> None:
        def write() -> None:
            with session_scope(self._url) as session:
                task = session.get(Task, inp.task_id)
                if task is not None:
                    tasks.set_status(session, task, inp.status, inp.message, stage=inp.stage)

        await asyncio.to_thread(write)

    @activity.defn(name="prepare_workspace")
    async def prepare_workspace(self, inp: WorkspaceInput) -> None:
        try:
            await workspace.prepare_workspace(self.settings, inp.task_id, activity.heartbeat)
        except (GitError, InvalidInput) as exc:
            raise _permanent(exc) from exc

    @activity.defn(name="start_run")
    async def start_run(self, inp: RunInput) -> int:
        def write() -> int:
            with session_scope(self._url) as session:
                return runs.start_run(session, inp.task_id, inp.stage).id

        return await asyncio.to_thread(write)

    @activity.defn(name="finish_run")
    async def finish_run(self, inp: RunEnd) -> None:
        def write() -> None:
            with session_scope(self._url) as session:
                runs.finish_run(session, inp.run_id, inp.status)

        await asyncio.to_thread(write)

    @activity.defn(name="run_turn")
    async def run_turn(self, inp: TurnInput) -> TurnResult:
        try:
            return await turns.run_turn(self.settings, inp, activity.heartbeat)
        except InvalidInput as exc:
            raise _permanent(exc) from exc

    @activity.defn(name="deliver")
    async def deliver(self, inp: DeliverInput) -> DeliveryResult:
        try:
            return await delivery.deliver(self.settings, inp.task_id, inp.stage)
        except (GitError, InvalidInput) as exc:
            raise _permanent(exc) from exc

    def all(self) -> list[object]:
        return [
            self.load_plan,
            self.set_status,
            self.prepare_workspace,
            self.start_run,
            self.finish_run,
            self.run_turn,
            self.deliver,
        ]
