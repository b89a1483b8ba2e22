"""Runs and turns of agents, and what a task's agent is configured as."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from taskyard.db.models import Run, Task, Template, TurnResult, utcnow
from taskyard.model.template import BUILTIN_DEFAULT, AgentSpec, TemplateSpec


def task_spec(session: Session, task: Task) -> TemplateSpec:
    """The template version the task pinned at creation, with its agent override."""
    row = session.get(Template, task.template_id) if task.template_id else None
    spec = TemplateSpec.model_validate(row.spec) if row else BUILTIN_DEFAULT
    if task.agent:
        spec = spec.model_copy(update={"agent": AgentSpec.model_validate(task.agent)})
    return spec


def start_run(session: Session, task_id: int, stage: str) -> Run:
    run = Run(task_id=task_id, stage=stage, status="working")
    session.add(run)
    session.flush()
    return run


def resume_or_start_run(session: Session, task_id: int, stage: str) -> Run:
    """The task's unfinished run of ``stage``, or a new one.

    A task runs one stage's agent at a time and finishes each run before the next, so
    an unfinished run of the same stage is one that an earlier try of this very step
    started: its retry carries on with it (and finds the turns it recorded), rather
    than start a second.
    """
    query = (
        select(Run)
        .where(Run.task_id == task_id, Run.stage == stage, Run.ended_at.is_(None))
        .order_by(Run.id.desc())
        .limit(1)
    )
    return session.scalar(query) or start_run(session, task_id, stage)


def finish_run(session: Session, run_id: int, status: str) -> None:
    run = session.get(Run, run_id)
    if run is not None and run.ended_at is None:
        run.status = status
        run.ended_at = utcnow()


def begin_turn(session: Session, run_id: int) -> int:
    """Count a turn on the run; returns the task's total turns so far, this one included."""
    run = session.get(Run, run_id)
    assert run is not None
    run.turns += 1
    session.flush()
    return session.scalar(select(func.sum(Run.turns)).where(Run.task_id == run.task_id)) or 0


def previous_session(session: Session, task_id: int, stage: str) -> str:
    """The agent session of this stage's latest run, so a re-entered stage resumes it."""
    return (
        session.scalar(
            select(Run.session_id)
            .where(Run.task_id == task_id, Run.stage == stage, Run.session_id != "")
            .order_by(Run.id.desc())
            .limit(1)
        )
        or ""
    )


def record_turn(
    session: Session, run_id: int, turn: int, outcome: dict[str, Any], seconds: float
) -> bool:
    """After a turn: how it ended (once: a second record of the same turn is ignored,
    and says so with ``False``), the agent session to resume, and the time the agent ran."""
    run = session.get(Run, run_id)
    if run is None or session.get(TurnResult, (run_id, turn)) is not None:
        return False
    session.add(TurnResult(run_id=run_id, turn=turn, **outcome))
    if outcome.get("session_id"):
        run.session_id = outcome["session_id"]
    task = session.get(Task, run.task_id)
    if task is not None:
        task.agent_seconds += seconds
    return True


def turn_outcome(session: Session, run_id: int, turn: int) -> dict[str, Any] | None:
    """How the turn ended, if it has ended before (see :func:`record_turn`)."""
    row = session.get(TurnResult, (run_id, turn))
    if row is None:
        return None
    return {
        "exit_code": row.exit_code,
        "state": row.state,
        "message": row.message,
        "session_id": row.session_id,
        "stopped_by": row.stopped_by,
    }


def add_usage(session: Session, task_id: int, usage: dict[str, Any]) -> tuple[int, float]:
    """Add ``usage`` to the task's totals; returns its tokens and cost now.

    One UPDATE adding to the stored values: model calls of one task are booked
    concurrently (from the gateway's threads), and none may lose another's count.
    """
    row = session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(
            input_tokens=Task.input_tokens + int(usage.get("input_tokens") or 0),
            output_tokens=Task.output_tokens + int(usage.get("output_tokens") or 0),
            cost_usd=Task.cost_usd + float(usage.get("cost_usd") or 0.0),
        )
        .returning(Task.input_tokens + Task.output_tokens, Task.cost_usd)
        .execution_options(synchronize_session=False)
    ).one()
    return int(row[0]), float(row[1])
