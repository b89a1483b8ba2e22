"""Temporal activities: every piece of I/O the task workflow does.

They are methods of :class:`TaskActivities`, which the runtime builds once per
worker with what they use (the settings, the task store, the gateway), and the
workflow calls them by reference (``workflow.execute_activity_method``): nothing
is looked up from globals or context variables, and results are typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from temporalio import activity

from taskyard.config import Settings
from taskyard.engine import delivery, workspace
from taskyard.engine.begin import status_change
from taskyard.engine.schedule_client import TemporalSchedules
from taskyard.engine.stop_watch import StopWatch
from taskyard.engine.turns import HEARTBEAT_EVERY, TurnRunner
from taskyard.engine.types import (
    DeliverInput,
    DeliveryResult,
    ReadyInput,
    RunEnd,
    RunInput,
    SlotClaim,
    SlotInput,
    StatusInput,
    TaskInput,
    TaskPlan,
    TurnInput,
    TurnResult,
    WorkspaceHome,
    WorkspaceInput,
    stage_plans,
)
from taskyard.gateway import Gateway
from taskyard.model.status import TaskStatus
from taskyard.services.task_store import StatusChange, TaskStore

log = logging.getLogger(__name__)
R = TypeVar("R")
READY_TRIES = 8  # about half a minute of the workflow's retries


async def _beating(step: Awaitable[R]) -> R:
    """Await ``step``, heartbeating meanwhile: if this worker dies, Temporal knows
    within the heartbeat timeout (and a cancel reaches the step).

    A cancelled step is awaited to its end: the activity is over only once the step
    cleaned up (its processes killed, its checkout released).
    """
    running = asyncio.ensure_future(step)
    try:
        while True:
            done, _ = await asyncio.wait({running}, timeout=HEARTBEAT_EVERY)
            if done:
                return running.result()
            activity.heartbeat()
    finally:
        if not running.done():
            running.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.shield(running)


@dataclass
class TaskActivities:
    settings: Settings
    store: TaskStore
    gateway: Gateway | None = None
    # This worker's own task queue: where the workflow sends what needs its checkouts.
    home_queue: str = ""
    # Tells a queued task's workflow it was given a slot (the runtime's Engine.wake).
    wake: Callable[[str], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.stops = StopWatch(self.store.read_stops)

    @activity.defn(name="load_plan")
    async def load_plan(self, inp: TaskInput) -> TaskPlan:
        stages = await asyncio.to_thread(self.store.stages, inp.task_id)
        # A worker concern, read on the worker: how long a turn may go unheard.
        return TaskPlan(stage_plans(stages), self.settings.heartbeat_timeout)

    @activity.defn(name="set_status")
    async def set_status(self, inp: StatusInput) -> None:
        paused = await asyncio.to_thread(
            self.store.set_status, inp.task_id, inp.status, inp.message, inp.stage
        )
        if paused is not None:  # its schedule's last runs all failed: Temporal stops it too
            schedules = TemporalSchedules(activity.client(), self.settings.task_queue)
            await schedules.align(self.settings.resolved_database_url, paused)

    @activity.defn(name="prepare_workspace")
    async def prepare_workspace(self, inp: WorkspaceInput) -> WorkspaceHome:
        """The task's checkout on this worker, which becomes its home."""
        await _beating(
            workspace.prepare_workspace(self.settings, self.store, inp.task_id, activity.heartbeat)
        )
        return WorkspaceHome(self.home_queue or self.settings.task_queue)

    @activity.defn(name="start_run")
    async def start_run(self, inp: RunInput) -> int:
        working = StatusChange(TaskStatus.WORKING, inp.working) if inp.working else None
        return await asyncio.to_thread(self.store.start_run, inp.task_id, inp.stage, working)

    @activity.defn(name="finish_run")
    async def finish_run(self, inp: RunEnd) -> None:
        await asyncio.to_thread(self.store.finish_run, inp.run_id, inp.status)

    @activity.defn(name="run_turn")
    async def run_turn(self, inp: TurnInput) -> TurnResult:
        """The turn, in the task's checkout here (prepared first where it must be), which
        makes this worker the task's home."""
        runner = TurnRunner(self.settings, self.store, self.gateway, self.stops, self._wake_all)
        # Beating while it waits for the checkout too (see engine.home.held).
        result = await _beating(runner.run(inp, activity.heartbeat))
        if result.queued:
            return result  # it ran nothing here: no home for it
        return replace(result, home=self.home_queue or self.settings.task_queue)

    @activity.defn(name="run_first_turn")
    async def run_first_turn(self, inp: TurnInput) -> TurnResult:
        """A run's first turn, which claims its team's slot and starts the run first
        (``TurnInput.begin``).

        A step of its own, not ``run_turn``'s: during a rolling upgrade, a worker of an
        earlier release fails it as a step it does not know, and Temporal retries it
        until a worker that knows it takes it, where ``run_turn`` there would have run a
        turn of no run.
        """
        return await self.run_turn(inp)

    @activity.defn(name="deliver")
    async def deliver(self, inp: DeliverInput) -> DeliveryResult:
        return await _beating(delivery.deliver(self.settings, self.store, inp.task_id, inp.stage))

    @activity.defn(name="mark_ready")
    async def mark_ready(self, inp: ReadyInput) -> None:
        """After an approval: the task's draft pull requests, ready for review; a forge
        still unreachable after a few tries leaves them drafts rather than hold the task."""
        last_try = activity.info().attempt >= READY_TRIES
        await delivery.mark_ready(self.settings, inp.task_id, last_try)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.load_plan,
            self.set_status,
            self.prepare_workspace,
            self.start_run,
            self.finish_run,
            self.run_turn,
            self.run_first_turn,
            self.deliver,
            self.mark_ready,
            self.claim_slot,
            self.release_slot,
        ]

    # Team slots (services/concurrency.py) ------------------------------------

    async def _wake_all(self, uids: list[str]) -> None:
        # A wake-up lost here is not lost for good: queued workflows ask again on a timer.
        if self.wake is None:
            return
        for uid in uids:
            try:
                await self.wake(uid)
            except Exception:
                log.warning("could not wake queued task %s", uid, exc_info=True)

    @activity.defn(name="claim_slot")
    async def claim_slot(self, inp: SlotInput) -> SlotClaim:
        entering, granted = status_change(inp.entering), status_change(inp.granted)
        claim = await asyncio.to_thread(self.store.claim_slot, inp.task_id, entering, granted)
        await self._wake_all(claim.wake)
        return SlotClaim(claim.granted, claim.ahead)

    @activity.defn(name="release_slot")
    async def release_slot(self, inp: SlotInput) -> None:
        await self._wake_all(await asyncio.to_thread(self.store.release_slot, inp.task_id))
