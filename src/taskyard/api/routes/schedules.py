"""Schedules: tasks made on a cron expression, with pause/resume, run now and history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.api.deps import EngineDep, PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors, links
from taskyard.db.models import Schedule, Task, User
from taskyard.model.inputs import Name
from taskyard.services import schedules
from taskyard.services.schedules import ScheduleCreate, ScheduleUpdate

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])
ONE = "/api/v1/schedules/{name}"


class ScheduleRunOut(BaseModel):
    fired_at: dt.datetime
    outcome: str  # created, skipped-overlap, skipped-paused, failed
    reason: str
    task: str | None  # the task's key
    task_status: str | None


class ScheduleOut(BaseModel):
    name: str
    owner: str
    cron: str
    time_zone: str
    overlap: str
    paused: bool
    paused_reason: str
    task: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    runs: list[ScheduleRunOut] | None = None  # the latest, newest first: with one schedule


def _out(session: Session, schedule: Schedule, *, runs: bool = False) -> ScheduleOut:
    owner = session.get(User, schedule.owner_id)
    out = ScheduleOut(
        name=schedule.name,
        owner=owner.username if owner else "",
        cron=schedule.cron,
        time_zone=schedule.time_zone,
        overlap=schedule.overlap,
        paused=schedule.paused,
        paused_reason=schedule.paused_reason,
        task=schedule.task,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )
    if runs:
        found = schedules.history(session, schedule)
        ids = [r.task_id for r in found if r.task_id]
        tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(ids)))}
        out.runs = [
            ScheduleRunOut(
                fired_at=r.fired_at,
                outcome=r.outcome,
                reason=r.reason,
                task=tasks[r.task_id].key if r.task_id in tasks else None,
                task_status=tasks[r.task_id].status if r.task_id in tasks else None,
            )
            for r in found
        ]
    return out


CREATED = links(
    201,
    "name",
    ("GET", ONE, "name"),
    ("PATCH", ONE, "name"),
    ("DELETE", ONE, "name"),
    *(("POST", f"{ONE}/{action}", "name") for action in ("pause", "resume", "run")),
)


@router.post("", status_code=201, responses={**errors(409), **CREATED})
def create_schedule(
    body: ScheduleCreate,
    session: SessionDep,
    principal: PrincipalDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ScheduleOut:
    """Create a schedule owned by the caller: its task is made at each fire, for them."""
    schedule = schedules.create(session, engine, principal, body, settings)
    return _out(session, schedule)


@router.get("")
def list_schedules(session: SessionDep, principal: PrincipalDep) -> list[ScheduleOut]:
    """The caller's schedules; an admin sees all of the organization's."""
    return [_out(session, s) for s in schedules.list_schedules(session, principal)]


@router.get("/{name}")
def show_schedule(name: Name, session: SessionDep, principal: PrincipalDep) -> ScheduleOut:
    """One schedule with its latest runs, newest first."""
    return _out(session, schedules.get(session, principal, name), runs=True)


@router.patch("/{name}")
def update_schedule(
    name: Name,
    body: ScheduleUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ScheduleOut:
    """Change the cron, time zone, overlap policy or task; only the fields given."""
    schedule = schedules.update(session, engine, principal, name, body, settings)
    return _out(session, schedule)


@router.post("/{name}/pause")
def pause_schedule(
    name: Name, session: SessionDep, principal: PrincipalDep, engine: EngineDep
) -> ScheduleOut:
    return _out(session, schedules.set_paused(session, engine, principal, name, True))


@router.post("/{name}/resume")
def resume_schedule(
    name: Name, session: SessionDep, principal: PrincipalDep, engine: EngineDep
) -> ScheduleOut:
    """Fire on the cron again (also after it paused itself for failed runs)."""
    return _out(session, schedules.set_paused(session, engine, principal, name, False))


@router.post("/{name}/run", status_code=202, responses=errors(409))
def run_schedule(
    name: Name, session: SessionDep, principal: PrincipalDep, engine: EngineDep
) -> ScheduleOut:
    """Fire once now, as the cron would: the overlap policy applies; the run shows in
    the schedule's history a moment later. A paused schedule answers 409."""
    return _out(session, schedules.run_now(session, engine, principal, name))


@router.delete("/{name}", status_code=204)
def delete_schedule(
    name: Name, session: SessionDep, principal: PrincipalDep, engine: EngineDep
) -> None:
    """Delete the schedule and its history; the tasks it made stay."""
    schedules.delete(session, engine, principal, name)
