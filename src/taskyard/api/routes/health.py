"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.outputs import HealthOut
from taskyard.services import metrics as counting

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz(request: Request, session: SessionDep) -> HealthOut:
    """Whether the server answers and reaches its database; no token, no data."""
    session.execute(text("SELECT 1"))
    return HealthOut(status="ok", engine="connected" if request.app.state.engine else "starting")


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, principal: PrincipalDep) -> str:
    """The caller's organization's task and event counts (needs ``tasks:read``); for an
    installation admin, this process's turns, sandbox starts, gateway calls and errors."""
    counts = counting.counts(session, principal)
    lines = ["# TYPE taskyard_tasks gauge"]
    for status, count in counts.tasks_by_status.items():
        lines.append(f'taskyard_tasks{{status="{status}"}} {count}')
    lines += ["# TYPE taskyard_events_total counter", f"taskyard_events_total {counts.events}"]
    return "\n".join(lines) + "\n" + counting.process_metrics(principal)
