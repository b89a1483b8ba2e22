"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.outputs import HealthOut
from taskyard.db.models import Event, Task

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz(request: Request, session: SessionDep) -> dict[str, str]:
    """Whether the server answers and reaches its database; no token, no data."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "engine": "connected" if request.app.state.engine else "starting"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, principal: PrincipalDep) -> str:
    """The caller's organization's task and event counts (needs ``tasks:read``)."""
    principal.require("tasks:read")
    mine = Task.org_id == principal.org_id
    lines = ["# TYPE taskyard_tasks gauge"]
    counts = session.execute(select(Task.status, func.count()).where(mine).group_by(Task.status))
    for status, count in counts:
        lines.append(f'taskyard_tasks{{status="{status}"}} {count}')
    events = select(func.count()).select_from(Event).join(Task, Task.id == Event.task_id)
    lines += [
        "# TYPE taskyard_events_total counter",
        f"taskyard_events_total {session.scalar(events.where(mine)) or 0}",
    ]
    return "\n".join(lines) + "\n"
