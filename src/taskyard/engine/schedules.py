"""A schedule's fire: the small workflow its Temporal Schedule starts, and its activity.

Temporal keeps each schedule's firing (:mod:`taskyard.engine.schedule_client`) and
starts :class:`ScheduleFireWorkflow` at each fire time, on any worker, after any
restart. Its one activity makes the task (:mod:`taskyard.services.schedule_runs`),
once per fire time however often it is retried, and brings Temporal in line with
the database when the schedule paused itself or no longer exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from taskyard.config import Settings
    from taskyard.db.session import session_scope
    from taskyard.services import schedule_runs
    from taskyard.services.github_context import TaskEngine, ThreadEngine

FIRE_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
# Set by Temporal on every workflow a schedule starts: the fire's nominal time (for
# "run now", the time it was asked). The same for every attempt: the run's identity.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@dataclass
class FireInput:
    schedule_id: int
    uid: str


@dataclass
class FireRequest:
    schedule_id: int
    uid: str
    fired_at: str  # ISO 8601, UTC


class ScheduleKeeper(Protocol):
    """Temporal's side of schedules (:class:`taskyard.engine.schedule_client.TemporalSchedules`)."""

    async def align(self, database_url: str, schedule_id: int) -> None: ...
    async def delete(self, uid: str) -> None: ...


@dataclass
class ScheduleActivities:
    settings: Settings
    engine: TaskEngine
    keeper: ScheduleKeeper

    def all(self) -> list[Callable[..., Any]]:
        return [self.fire]

    @activity.defn(name="fire_schedule")
    async def fire(self, inp: FireRequest) -> str:
        engine = ThreadEngine(self.engine, asyncio.get_running_loop())
        fired = await asyncio.to_thread(self._fire, engine, inp)
        if fired.gone:
            await self.keeper.delete(inp.uid)
        elif fired.align:
            await self.keeper.align(self.settings.resolved_database_url, inp.schedule_id)
        return f"{fired.outcome} {fired.task_key}".strip()

    def _fire(self, engine: ThreadEngine, inp: FireRequest) -> schedule_runs.Fired:
        fired_at = dt.datetime.fromisoformat(inp.fired_at)
        roots = self.settings.local_repository_roots
        with session_scope(self.settings.resolved_database_url) as session:
            return schedule_runs.fire(
                session, engine, inp.schedule_id, inp.uid, fired_at, local_roots=roots
            )


@workflow.defn(name="ScheduleFireWorkflow")
class ScheduleFireWorkflow:
    @workflow.run
    async def run(self, inp: FireInput) -> str:
        info = workflow.info()
        fired_at = info.typed_search_attributes.get(SCHEDULED_AT) or info.start_time
        request = FireRequest(inp.schedule_id, inp.uid, fired_at.astimezone(dt.UTC).isoformat())
        return await workflow.execute_activity_method(
            ScheduleActivities.fire,
            request,
            start_to_close_timeout=FIRE_TIMEOUT,
            retry_policy=RETRY,
        )
