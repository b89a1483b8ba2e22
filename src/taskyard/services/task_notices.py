"""The notices a task's life owes its people, each written with the change that causes it.

Called from the few places every such change goes through: :func:`tasks.create_task`,
:func:`tasks.set_status` (waiting, completed, failed, cancelled), the pull request marked
ready (:mod:`services.deliveries`) and the model call that passes most of a budget
(:mod:`services.gateway_ledger`). The people are the task's creator and its reviewers
(:mod:`services.reviewers`), each once however many of those they are, as the task's
reviewers stand at the event: one added later hears only of what happens after. Each
person's own preferences (:func:`services.notifications.wants`) decide what reaches them,
so a reviewer, like a creator, hears by default only what needs them and what failed.
(GitHub's reviewers of a pull request are not users here: only taskyard's own count.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from taskyard.db.models import Task
from taskyard.model.status import TaskStatus
from taskyard.model.template import Budget
from taskyard.services import reviewers
from taskyard.services.notifications import notify

#: The share of a token or cost budget past which its task's people hear of it.
NEARLY = 0.8

_BY_STATUS = {
    TaskStatus.WAITING: ("task.waiting", "waiting"),
    TaskStatus.COMPLETED: ("task.completed", "completed"),
    TaskStatus.FAILED: ("task.failed", "failed"),
    TaskStatus.CANCELLED: ("task.cancelled", "cancelled"),
}


def _owe(session: Session, task: Task, event: str, said: str, text: str, **data: Any) -> None:
    notify(
        session,
        org_id=task.org_id,
        event=event,
        task=task,
        users=[task.creator_id, *reviewers.user_ids(session, task.id)],  # notify folds repeats
        subject=f"{task.key} {said}: {task.title}",
        text=text,
        data=data,
    )


def created(session: Session, task: Task) -> None:
    _owe(session, task, "task.created", "created", f"Repository: {task.repository}")


def status_entered(session: Session, task: Task, status: str, message: str) -> None:
    """``task`` has just entered ``status`` (``message`` says why)."""
    known = _BY_STATUS.get(TaskStatus(status))
    if known is None:
        return
    event, said = known
    if status == TaskStatus.WAITING and "approval" in message:
        said = "waiting for approval"
    lines = [f"Status: {status}"]
    if task.stage:
        lines.append(f"Stage: {task.stage}")
    if message:
        lines.append(("Reason: " if status == TaskStatus.FAILED else "") + message)
    _owe(session, task, event, said, "\n".join(lines), reason=message)


def pull_request_ready(session: Session, task: Task, number: int, url: str) -> None:
    text = f"Pull request #{number} is ready for review." + (f"\n{url}" if url else "")
    _owe(
        session,
        task,
        "task.pr_ready",
        f"pull request #{number} ready",
        text,
        pull_request={"number": number, "url": url},
    )


def budget_passed(
    session: Session, task: Task, budget: Budget, before: tuple[int, float], now: tuple[int, float]
) -> None:
    """Notify if the totals went from ``before`` to ``now`` (tokens, cost) past
    :data:`NEARLY` of a budget: the one call that crosses the line, so once."""
    for name, limit, was, is_ in (
        ("max_tokens", budget.max_tokens, before[0], now[0]),
        ("max_cost_usd", budget.max_cost_usd, before[1], now[1]),
    ):
        if limit is not None and was < NEARLY * limit <= is_:
            text = f"{name}: {is_:g} of {limit:g} spent ({is_ / limit:.0%})."
            _owe(
                session,
                task,
                "task.budget",
                "budget nearly spent",
                text,
                budget={"name": name, "limit": limit, "spent": is_},
            )
            return
