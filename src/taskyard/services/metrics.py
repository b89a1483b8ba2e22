"""What ``GET /metrics`` shows: the caller's organization's counts, and to installation
admins this process's metrics (aggregate over every organization)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard import telemetry
from taskyard.db.models import Event, Task
from taskyard.services.access import INSTALLATION_ADMIN, Principal, require


@dataclass(frozen=True)
class Counts:
    tasks_by_status: dict[str, int]
    events: int


def counts(session: Session, principal: Principal) -> Counts:
    """The caller's organization's tasks by status and its events in all."""
    require(principal, "tasks:read")
    mine = Task.org_id == principal.org_id
    by_status = session.execute(select(Task.status, func.count()).where(mine).group_by(Task.status))
    events = select(func.count()).select_from(Event).join(Task, Task.id == Event.task_id)
    return Counts(
        tasks_by_status={status: count for status, count in by_status},
        events=session.scalar(events.where(mine)) or 0,
    )


def process_metrics(principal: Principal) -> str:
    """This process's metrics for an installation admin; ``""`` for anyone else."""
    return telemetry.exposition() if principal.has(INSTALLATION_ADMIN) else ""
