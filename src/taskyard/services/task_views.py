"""What a task's page reads besides the task: its recent events, its plan, its links,
its creator.

The page shows the latest events (a long task has tens of thousands: the API pages
through the rest), and the live stream sends the ones after them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Event, Run, Task, User
from taskyard.model.status import AgentState

PAGE_EVENTS = 1000
PLAN_STAGE = "plan"
MAX_PLAN = 100_000
PLAN_EVENTS = 5000
LINKS = ("html_url", "issue_url", "url")  # where an origin's source is, in that order

Row = tuple[int, str, Any, dt.datetime]


def recent_events(
    session: Session, task_id: int, limit: int = PAGE_EVENTS
) -> tuple[list[Row], int]:
    """The task's last ``limit`` events, oldest first, and how many came before them."""
    rows = session.execute(
        select(Event.id, Event.kind, Event.data, Event.created_at)
        .where(Event.task_id == task_id)
        .order_by(Event.id.desc())
        .limit(limit)
    ).all()
    shown = [(r[0], r[1], r[2], r[3]) for r in reversed(rows)]
    if len(rows) < limit:
        return shown, 0
    earlier = session.scalar(
        select(func.count()).where(Event.task_id == task_id, Event.id < shown[0][0])
    )
    return shown, earlier or 0


def _said(texts: list[str], lines: list[str]) -> str:
    return "\n\n".join(texts) if texts else "\n".join(lines)


def _turn_starts(data: dict[str, Any]) -> bool:
    # The engine says so as each turn starts; an agent's own reports say "reported".
    state = data.get("type") == "state" and data.get("state") == AgentState.WORKING
    return state and not data.get("reported")


def plan(session: Session, task_id: int) -> str:
    """What the latest turn of the task's latest plan stage said (a follow-up turn
    revises the plan): its agent's text, or, for an agent that prints rather than talks,
    its output lines; "" before any plan. (PLAN.md itself stays in the checkout: it is
    never exported from the sandbox.)"""
    run_id = session.scalar(
        select(Run.id)
        .where(Run.task_id == task_id, Run.stage == PLAN_STAGE)
        .order_by(Run.id.desc())
        .limit(1)
    )
    if run_id is None:
        return ""
    said = ""
    texts: list[str] = []
    lines: list[str] = []
    for kind, data in session.execute(
        select(Event.kind, Event.data)
        .where(
            Event.task_id == task_id, Event.run_id == run_id, Event.kind.in_(("agent", "output"))
        )
        .order_by(Event.id)
        .limit(PLAN_EVENTS)
    ):
        if not isinstance(data, dict):
            continue
        if kind == "output":
            lines.append(str(data.get("line", "")))
        elif data.get("type") == "text":
            texts.append(str(data.get("text", "")))
        elif _turn_starts(data):
            said = _said(texts, lines) or said  # keep what the last turn said, if anything
            texts, lines = [], []
    return (_said(texts, lines) or said)[:MAX_PLAN]


def source_link(task: Task) -> str:
    """The web address of what the task came from (a GitHub issue, a Sentry issue…), or ""."""
    for key in LINKS:
        value = task.origin_context.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return ""


def creator(session: Session, task: Task) -> str:
    """The username the task is for ("" if that user is gone)."""
    user = session.get(User, task.creator_id)
    return user.username if user else ""
