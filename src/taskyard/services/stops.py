"""Stops: a cancel, or a budget or limit reached, decided once and seen everywhere.

Whoever decides a task must stop (the API on a cancel, the gateway when a model
call reaches a budget, the turn when its time is up) records it on the task row.
From that commit on the gateway refuses the task's model calls, whichever worker
serves them, and the running turn, which polls the row, kills its sandbox. The
first stop recorded is the one the task tells: a later one never rewrites it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from taskyard.db.models import Task, utcnow
from taskyard.db.session import session_scope
from taskyard.model.status import AgentState
from taskyard.model.template import Budget

StopKind = Literal["cancel", "budget"]


@dataclass(frozen=True)
class Stop:
    """Why a task's agent must stop.

    Attributes:
        kind: ``cancel`` (a person) or ``budget`` (a budget or a limit).
        reason: For people: ``Cancelled by ada``, ``max_tokens (1000)``.
    """

    kind: StopKind
    reason: str

    @property
    def agent_state(self) -> tuple[str, str]:
        """The agent's state and message once the stop is carried out."""
        if self.kind == "cancel":
            return AgentState.CANCELLED, self.reason
        return AgentState.FAILURE, f"Stopped: {self.reason}"

    @property
    def refusal(self) -> str:
        """What the gateway answers a model call with once the stop is recorded."""
        if self.kind == "cancel":
            return f"This task was cancelled ({self.reason}); its model calls are refused."
        return f"Budget reached: {self.reason}. This task's model calls are refused."


def stop_of(task: Task) -> Stop | None:
    """The stop recorded on ``task``, if any."""
    if not task.stop_kind:
        return None
    kind: StopKind = "cancel" if task.stop_kind == "cancel" else "budget"
    return Stop(kind, task.stop_reason)


def request_stop(session: Session, task: Task, stop: Stop) -> Stop:
    """Record ``stop`` on ``task`` unless one is recorded already; returns the one that holds.

    One conditional UPDATE: a cancel and a budget (or two model calls) deciding at the
    same moment in different processes cannot both win.
    """
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Task)
        .where(Task.id == task.id, Task.stop_kind == "")
        .values(stop_kind=stop.kind, stop_reason=stop.reason[:300], stop_requested_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(task, ["stop_kind", "stop_reason", "stop_requested_at"])
    held = stop_of(task)
    assert held is not None
    return stop if won.rowcount else held


def read_stop(database_url: str, task_id: int) -> Stop | None:
    """The task's stop, read in a short session of its own."""
    return read_stops(database_url, [task_id]).get(task_id)


def read_stops(database_url: str, task_ids: Collection[int]) -> dict[int, Stop]:
    """The stops of those of ``task_ids`` that have one, in one read (what a worker's
    running turns wait on)."""
    with session_scope(database_url, write=False) as session:
        rows = session.execute(
            select(Task.id, Task.stop_kind, Task.stop_reason).where(
                Task.id.in_(task_ids), Task.stop_kind != ""
            )
        ).all()
    return {row[0]: Stop("cancel" if row[1] == "cancel" else "budget", row[2]) for row in rows}


def budget_reached(budget: Budget, tokens: float, cost_usd: float) -> str:
    """The token or cost budget that ``tokens`` and ``cost_usd`` (task totals) reach, or ``""``."""
    if budget.max_tokens is not None and tokens >= budget.max_tokens:
        return f"max_tokens ({budget.max_tokens})"
    if budget.max_cost_usd is not None and cost_usd >= budget.max_cost_usd:
        return f"max_cost_usd ({budget.max_cost_usd:g})"
    return ""
