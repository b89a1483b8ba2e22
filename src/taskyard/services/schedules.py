"""Schedules: a task spec made into a task on a cron expression, for the schedule's owner.

The database holds each schedule and its runs (:mod:`taskyard.services.schedule_runs`);
Temporal holds its firing (a Temporal Schedule per row, kept by ``engine``), so firing
goes on across restarts of every taskyard process. A change writes the row, then tells
the engine, then commits: an engine that refuses rolls the change back.

People manage their own schedules with ``tasks:write`` (read with ``tasks:read``); an
organization's admins see and manage all of its schedules. Another's is not found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete as delete_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Schedule, ScheduleRun
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.inputs import Body, JsonObject, Label, Location, Name, Title
from taskyard.model.schedule import Overlap, ScheduleDef, check_cron, check_time_zone
from taskyard.services import audit, teams, templates, workflows
from taskyard.services.access import ADMIN, Principal, require
from taskyard.services.repositories import validate_repository
from taskyard.services.repository_owners import require_owner

MAX_SCHEDULES = 200  # per organization
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HISTORY = 50  # runs shown with a schedule


class ScheduleEngine(Protocol):
    """What the engine does for schedules (:class:`taskyard.api.bridge.EngineBridge`)."""

    def put_schedule(self, schedule: ScheduleDef) -> None: ...
    def trigger_schedule(self, uid: str) -> None: ...
    def delete_schedule(self, uid: str) -> None: ...


class ScheduleTask(BaseModel):
    """The task each run makes (as ``POST /api/v1/tasks`` takes it)."""

    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Body = Field("", description="The prompt: what the agent is asked to do.")
    repository: Location
    base_branch: Label = ""
    team: Name | None = Field(None, description="Team key or slug; the first team when absent.")
    template: Name | None = None
    workflow: Name | None = None
    parameters: JsonObject = Field(default_factory=dict)


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(examples=["weekly-deps"])
    cron: str = Field(
        max_length=200,
        examples=["0 9 * * MON"],
        description="5 fields (minute hour day-of-month month day-of-week), 6 (and a year), "
        "7 (a second first), or @hourly, @daily, @weekly, @monthly, @yearly.",
    )
    time_zone: str = Field("UTC", max_length=64, examples=["Europe/Paris"])
    overlap: Overlap = Field(
        Overlap.SKIP,
        description="skip: no new task while the last run's is open; allow: one each time.",
    )
    paused: bool = False
    task: ScheduleTask


class ScheduleUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = Field(None, max_length=200)
    time_zone: str | None = Field(None, max_length=64)
    overlap: Overlap | None = None
    task: ScheduleTask | None = None


def definition(schedule: Schedule) -> ScheduleDef:
    return ScheduleDef(
        schedule.uid,
        schedule.id,
        schedule.cron,
        schedule.time_zone,
        schedule.paused,
        schedule.paused_reason,
    )


def _check_task(
    session: Session, org_id: int, task: ScheduleTask, roots: Sequence[Path]
) -> ScheduleTask:
    """Refuse now what every run would fail on: an unknown repository, team, template or
    workflow."""
    repository = validate_repository(task.repository, roots)
    require_owner(session, org_id, repository)
    team = teams.resolve_team(session, org_id, task.team)
    if task.template:
        templates.get_template(session, org_id, task.template)
    if task.workflow:
        workflows.get_workflow(session, team, task.workflow)
    return task.model_copy(update={"repository": repository})


def create(
    session: Session,
    engine: ScheduleEngine,
    principal: Principal,
    body: ScheduleCreate,
    settings: Settings,
) -> Schedule:
    require(principal, "tasks:write")
    if not NAME.fullmatch(body.name):
        raise InvalidInput(
            f"Schedule name '{body.name}': use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it is part of the schedule's URL)."
        )
    cron = check_cron(body.cron, settings.schedule_min_interval_seconds)
    zone = check_time_zone(body.time_zone)
    task = _check_task(session, principal.org_id, body.task, settings.local_repository_roots)
    taken = session.scalars(select(Schedule.name).where(Schedule.org_id == principal.org_id))
    names = set(taken)
    if body.name in names:
        raise Conflict(f"A schedule named '{body.name}' exists already.")
    if len(names) >= MAX_SCHEDULES:
        raise Conflict(f"An organization may have {MAX_SCHEDULES} schedules; delete one first.")
    schedule = Schedule(
        org_id=principal.org_id,
        owner_id=principal.user_id,
        name=body.name,
        cron=cron,
        time_zone=zone,
        overlap=body.overlap,
        paused=body.paused,
        task=task.model_dump(),
    )
    session.add(schedule)
    session.flush()
    audit.record(session, principal, "schedule.created", schedule.name, {"cron": cron})
    engine.put_schedule(definition(schedule))
    session.commit()
    return schedule


def get(
    session: Session, principal: Principal, name: str, *, scope: str = "tasks:read"
) -> Schedule:
    """``name``, if the caller owns it or is an admin of its organization."""
    require(principal, scope)
    query = select(Schedule).where(Schedule.org_id == principal.org_id, Schedule.name == name)
    if not principal.has(ADMIN):
        query = query.where(Schedule.owner_id == principal.user_id)
    schedule = session.scalar(query)
    if schedule is None:
        raise NotFound(f"Schedule '{name}' not found.")
    return schedule


def list_schedules(session: Session, principal: Principal) -> list[Schedule]:
    """The caller's schedules; all of the organization's for an admin."""
    require(principal, "tasks:read")
    query = select(Schedule).where(Schedule.org_id == principal.org_id)
    if not principal.has(ADMIN):
        query = query.where(Schedule.owner_id == principal.user_id)
    return list(session.scalars(query.order_by(Schedule.name)))


def history(session: Session, schedule: Schedule, limit: int = HISTORY) -> list[ScheduleRun]:
    """The schedule's latest runs, newest first."""
    query = select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
    return list(session.scalars(query.order_by(ScheduleRun.id.desc()).limit(limit)))


def update(
    session: Session,
    engine: ScheduleEngine,
    principal: Principal,
    name: str,
    body: ScheduleUpdate,
    settings: Settings,
) -> Schedule:
    schedule = get(session, principal, name, scope="tasks:write")
    if body.cron is not None:
        schedule.cron = check_cron(body.cron, settings.schedule_min_interval_seconds)
    if body.time_zone is not None:
        schedule.time_zone = check_time_zone(body.time_zone)
    if body.overlap is not None:
        schedule.overlap = body.overlap
    if body.task is not None:
        schedule.task = _check_task(
            session, schedule.org_id, body.task, settings.local_repository_roots
        ).model_dump()
    audit.record(session, principal, "schedule.updated", schedule.name)
    session.flush()
    engine.put_schedule(definition(schedule))
    session.commit()
    return schedule


def set_paused(
    session: Session, engine: ScheduleEngine, principal: Principal, name: str, paused: bool
) -> Schedule:
    """Pause or resume; resuming clears the reason a schedule paused itself for."""
    schedule = get(session, principal, name, scope="tasks:write")
    schedule.paused = paused
    schedule.paused_reason = f"Paused by {principal.username}." if paused else ""
    audit.record(session, principal, "schedule.paused" if paused else "schedule.resumed", name)
    session.flush()
    engine.put_schedule(definition(schedule))
    session.commit()
    return schedule


def run_now(session: Session, engine: ScheduleEngine, principal: Principal, name: str) -> Schedule:
    """Fire the schedule once now, as its cron would (its overlap policy applies)."""
    schedule = get(session, principal, name, scope="tasks:write")
    if schedule.paused:
        # Its fire would find it paused and make nothing: say so now instead.
        raise Conflict(f"Schedule '{name}' is paused: resume it first, then run it.")
    audit.record(session, principal, "schedule.triggered", name)
    session.commit()
    engine.trigger_schedule(schedule.uid)
    return schedule


def delete(session: Session, engine: ScheduleEngine, principal: Principal, name: str) -> None:
    """Delete the schedule and its history; the tasks it made stay."""
    schedule = get(session, principal, name, scope="tasks:write")
    audit.record(session, principal, "schedule.deleted", name)
    session.execute(delete_rows(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id))
    session.delete(schedule)
    session.flush()
    engine.delete_schedule(schedule.uid)
    session.commit()


def all_definitions(session: Session) -> list[ScheduleDef]:
    """Every organization's schedules, for the engine to converge on at startup."""
    return [definition(s) for s in session.scalars(select(Schedule).order_by(Schedule.id))]
