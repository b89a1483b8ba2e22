"""Schedules in Temporal: one Temporal Schedule per schedule row, named by its uid.

Temporal keeps the cron and fires it (after restarts of every taskyard process too);
the database is the record. :meth:`TemporalSchedules.converge` makes Temporal agree
with the database at startup, so a fresh Temporal, or a database restored from a
backup, is brought back in line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from taskyard.db.models import Schedule as ScheduleRow
from taskyard.db.session import session_scope
from taskyard.engine.schedules import FireInput, ScheduleFireWorkflow
from taskyard.model.errors import InvalidInput, Unavailable
from taskyard.model.schedule import ScheduleDef
from taskyard.services import schedules

log = logging.getLogger(__name__)

# Fires missed while Temporal was down are made up for if it is back within this
# long; a longer outage skips them rather than open a burst of tasks at once.
CATCHUP = timedelta(minutes=5)
# A fire no worker took up in this long (none running) is dropped; the next one is not.
FIRE_LIFETIME = timedelta(hours=1)
MAX_NOTE = 500


def schedule_id(uid: str) -> str:
    return f"schedule-{uid}"


@dataclass
class TemporalSchedules:
    client: Client
    task_queue: str

    def _schedule(self, schedule: ScheduleDef) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                ScheduleFireWorkflow.run,
                FireInput(schedule.schedule_id, schedule.uid),
                # Temporal appends each fire's time: one workflow per fire.
                id=f"{schedule_id(schedule.uid)}-fire",
                task_queue=self.task_queue,
                execution_timeout=FIRE_LIFETIME,
            ),
            spec=ScheduleSpec(cron_expressions=[schedule.cron], time_zone_name=schedule.time_zone),
            # Every fire gets its workflow: the schedule's own overlap policy is
            # applied by the fire, which records what it skipped.
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP),
            state=ScheduleState(paused=schedule.paused, note=schedule.note[:MAX_NOTE]),
        )

    async def put(self, schedule: ScheduleDef) -> None:
        """Create the schedule in Temporal, or make the one there match it."""
        wanted = self._schedule(schedule)
        try:
            try:
                await self.client.create_schedule(schedule_id(schedule.uid), wanted)
                return
            except ScheduleAlreadyRunningError:
                pass
            handle = self.client.get_schedule_handle(schedule_id(schedule.uid))

            def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await handle.update(replace)
            # An update leaves the paused state as it was: set it apart.
            description = await handle.describe()
            if description.schedule.state.paused != schedule.paused:
                note = schedule.note[:MAX_NOTE] or None
                await (handle.pause(note=note) if schedule.paused else handle.unpause(note=note))
        except RPCError as exc:
            raise _refusal(exc) from exc

    async def align(self, database_url: str, schedule_id: int) -> None:
        """Make Temporal's schedule what the database holds now.

        The schedule's row stays locked until Temporal has it, as it does during a pause
        or resume through the API: of two at once, the second sees the first's state, so
        a pause read before a resume cannot reach Temporal after it."""
        loop = asyncio.get_running_loop()

        def locked() -> None:
            with session_scope(database_url) as session:
                row = session.get(ScheduleRow, schedule_id, with_for_update=True)
                if row is not None:
                    put = self.put(schedules.definition(row))
                    asyncio.run_coroutine_threadsafe(put, loop).result()

        await asyncio.to_thread(locked)

    async def trigger(self, uid: str) -> None:
        """Fire now, as the cron would (the fire applies the overlap policy)."""
        try:
            await self.client.get_schedule_handle(schedule_id(uid)).trigger(
                overlap=ScheduleOverlapPolicy.ALLOW_ALL
            )
        except RPCError as exc:
            raise _refusal(exc) from exc

    async def delete(self, uid: str) -> None:
        """Delete the schedule from Temporal; one absent there already is fine."""
        try:
            await self.client.get_schedule_handle(schedule_id(uid)).delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise _refusal(exc) from exc

    async def converge(self, schedules: Iterable[ScheduleDef]) -> None:
        """Make Temporal hold every schedule as the database has it (at startup)."""
        for schedule in schedules:
            # One that cannot be put (its time zone unknown to this Temporal...) must
            # not keep the others, or the process, from starting.
            try:
                await self.put(schedule)
            except InvalidInput as exc:
                log.warning("schedule %s not put in Temporal: %s", schedule.uid, exc)


def _refusal(exc: RPCError) -> InvalidInput | Unavailable:
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        return InvalidInput(f"Temporal refused the schedule: {exc.message}")
    return Unavailable(f"The engine is unreachable: {exc}")
