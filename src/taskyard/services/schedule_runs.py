"""What one fire of a schedule does, and what a schedule's failed runs do to it.

A fire (from the engine's Temporal Schedule, :mod:`taskyard.engine.schedules`) makes
the schedule's task through the same path as ``POST /api/v1/tasks``, for the
schedule's owner, with origin ``schedule``. Its run is recorded in the transaction
that creates the task, unique per fire time, so a retried fire finds it and makes no
second task. With the ``skip`` overlap policy, a fire while the last run's task is
still open records a skipped run instead.

When the tasks of a schedule's last three runs failed (or could not be made), the
schedule pauses itself and its owner is told (event ``schedule.paused``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import Schedule, ScheduleRun, Task, User, iso_utc
from taskyard.model.errors import Permanent
from taskyard.model.schedule import Outcome, Overlap
from taskyard.model.status import FINAL, TaskStatus
from taskyard.services import actions, notifications
from taskyard.services.access import Principal
from taskyard.services.actions import EngineLike
from taskyard.services.tasks import TaskCreate

FAILURES_TO_PAUSE = 3
MAX_REASON = 500


@dataclass(frozen=True)
class Fired:
    """What a fire did; ``align``: Temporal should be told the schedule is paused (it
    paused itself, or was paused while this fire was on its way)."""

    outcome: str
    task_key: str = ""
    align: bool = False
    gone: bool = False  # no such schedule any more: its Temporal Schedule should go


def fire(
    session: Session,
    engine: EngineLike,
    schedule_id: int,
    uid: str,
    fired_at: dt.datetime,
    *,
    local_roots: Sequence[Path],
) -> Fired:
    """Make the task of ``schedule_id``'s fire at ``fired_at``, at most once."""
    schedule = session.get(Schedule, schedule_id)
    if schedule is None or schedule.uid != uid:
        return Fired("gone", gone=True)
    done = session.scalar(
        select(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule.id, ScheduleRun.fired_at == fired_at
        )
    )
    if done is not None:  # an earlier attempt recorded it: make sure its task runs
        task = session.get(Task, done.task_id) if done.task_id else None
        if task is not None and task.run_requested:
            engine.start(task)
        return Fired(done.outcome, task.key if task else "")
    if schedule.paused:
        _record(session, schedule, fired_at, Outcome.SKIPPED_PAUSED, schedule.paused_reason)
        return Fired(Outcome.SKIPPED_PAUSED, align=True)
    open_task = _open_task(session, schedule)
    if open_task is not None and schedule.overlap == Overlap.SKIP:
        reason = f"{open_task.key} from an earlier run is still {open_task.status}."
        _record(session, schedule, fired_at, Outcome.SKIPPED_OVERLAP, reason)
        return Fired(Outcome.SKIPPED_OVERLAP)
    return _create(session, engine, schedule, fired_at, local_roots)


def _create(
    session: Session,
    engine: EngineLike,
    schedule: Schedule,
    fired_at: dt.datetime,
    local_roots: Sequence[Path],
) -> Fired:
    owner = session.get(User, schedule.owner_id)
    assert owner is not None  # users are deactivated, never deleted
    principal = Principal(owner.id, schedule.org_id, owner.username, frozenset({"tasks:write"}))
    context = {"schedule_id": schedule.id, "schedule": schedule.name, "fired_at": iso_utc(fired_at)}
    name, schedule_id = schedule.name, schedule.id

    def record(task: Task) -> None:
        session.add(
            ScheduleRun(
                schedule_id=schedule_id, fired_at=fired_at, task_id=task.id, outcome=Outcome.CREATED
            )
        )

    try:
        body = TaskCreate.model_validate(
            {**schedule.task, "origin": "schedule", "origin_context": context}
        )
        made = actions.create(
            session, engine, principal, body, local_roots=local_roots, record=record
        )
    except (Permanent, ValidationError) as exc:
        session.rollback()  # the schedule's attributes are read again after it
        reason = f"Schedule '{name}' could not make its task: {exc}"
        _record(session, schedule, fired_at, Outcome.FAILED, reason)
        return Fired(Outcome.FAILED, align=check_failures(session, schedule))
    return Fired(Outcome.CREATED, made.task.key)


def _record(
    session: Session, schedule: Schedule, fired_at: dt.datetime, outcome: str, reason: str
) -> None:
    run = ScheduleRun(
        schedule_id=schedule.id, fired_at=fired_at, outcome=outcome, reason=reason[:MAX_REASON]
    )
    session.add(run)
    session.flush()


def _open_task(session: Session, schedule: Schedule) -> Task | None:
    """The task of the schedule's last run that made one, if it has not ended."""
    task = session.scalar(
        select(Task)
        .join(ScheduleRun, ScheduleRun.task_id == Task.id)
        .where(ScheduleRun.schedule_id == schedule.id)
        .order_by(ScheduleRun.id.desc())
        .limit(1)
    )
    return task if task is not None and task.status not in FINAL else None


def task_ended(session: Session, task_id: int) -> int | None:
    """After a task's status changed: if it was a schedule's and failed, the id of the
    schedule that paused itself for it, if it did."""
    run = session.scalar(select(ScheduleRun).where(ScheduleRun.task_id == task_id))
    if run is None:
        return None
    task = session.get(Task, task_id)
    if task is None or task.status != TaskStatus.FAILED:
        return None
    schedule = session.get(Schedule, run.schedule_id)
    return schedule.id if schedule is not None and check_failures(session, schedule) else None


def check_failures(session: Session, schedule: Schedule) -> bool:
    """Pause ``schedule`` (and tell its owner) when its last three runs failed; whether
    it did."""
    if schedule.paused:
        return False
    runs = session.execute(
        select(ScheduleRun.outcome, Task.status, Task.key, Task.status_message)
        .outerjoin(Task, Task.id == ScheduleRun.task_id)
        .where(
            ScheduleRun.schedule_id == schedule.id,
            ScheduleRun.outcome.in_((Outcome.CREATED, Outcome.FAILED)),
        )
        .order_by(ScheduleRun.id.desc())
        .limit(FAILURES_TO_PAUSE)
    ).all()
    failed = [r for r in runs if r.outcome == Outcome.FAILED or r.status == TaskStatus.FAILED]
    if len(failed) < FAILURES_TO_PAUSE:
        return False
    keys = ", ".join(r.key or "(no task)" for r in failed)
    schedule.paused = True
    schedule.paused_reason = f"Paused after {FAILURES_TO_PAUSE} failed runs in a row: {keys}."
    notifications.notify(
        session,
        org_id=schedule.org_id,
        event="schedule.paused",
        task=None,
        users=[schedule.owner_id],
        subject=f"Schedule {schedule.name} paused after {FAILURES_TO_PAUSE} failed runs",
        text=f"{schedule.paused_reason}\nResume it with: taskyard schedules resume {schedule.name}",
        data={
            "schedule": schedule.name,
            "schedule_id": schedule.id,
            "reason": schedule.paused_reason,
            "failed_tasks": [r.key for r in failed if r.key],
        },
    )
    session.flush()
    return True
