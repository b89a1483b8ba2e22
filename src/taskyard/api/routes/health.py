"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text

from taskyard.api.deps import SessionDep
from taskyard.db.models import Event, Task

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "engine": "connected" if request.app.state.engine else "starting"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep) -> str:
    lines = ["# TYPE taskyard_tasks gauge"]
    for status, count in session.execute(select(Task.status, func.count()).group_by(Task.status)):
        lines.append(f'taskyard_tasks{{status="{status}"}} {count}')
    lines += [
        "# TYPE taskyard_events_total counter",
        f"taskyard_events_total {session.scalar(select(func.count()).select_from(Event)) or 0}",
    ]
    return "\n".join(lines) + "\n"
