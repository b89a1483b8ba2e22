"""Response shapes of the API (what OpenAPI documents)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.api.outputs import PullOut
from taskyard.db.models import Event, PullRequest, Task, Team, Template, User, Workflow
from taskyard.model.template import BUILTIN_DEFAULT
from taskyard.services import pulls, reviewers


class StatusEntry(BaseModel):
    status: str
    message: str
    at: dt.datetime


class TaskOut(BaseModel):
    id: int
    key: str
    slug: str
    title: str
    description: str
    repository: str
    base_branch: str
    branch: str
    origin: str
    origin_context: dict[str, Any]
    thread: str | None
    team: str
    creator: str
    requested_by: str
    reviewers: list[str] = Field(
        description="Usernames of the people asked to review the task, sorted: they hear of "
        "it as its creator does (`PUT /api/v1/tasks/{ref}/reviewers` changes them)."
    )
    template: str | None
    agent: str
    parameters: dict[str, Any]
    workflow: str
    stage: str
    status: str
    status_message: str
    agent_state: str
    agent_message: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    created_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    status_history: list[StatusEntry] | None = None
    pull_requests: list[PullOut] | None = None
    live: dict[str, Any] | None = None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_before: int | None


def pull_out(pull: PullRequest) -> PullOut:
    return PullOut.model_validate(pulls.as_dict(pull))


def task_out(
    session: Session,
    task: Task,
    *,
    detail: bool = False,
    seen: dict[Any, Any] | None = None,
    reviewed_by: list[str] | None = None,
) -> TaskOut:
    """``task`` as the API shows it.

    Args:
        seen: Rows already loaded, shared by the calls for one page: the session's
            identity map holds rows only weakly, so without it every task of a page
            would load its team, users and workflow again.
        reviewed_by: The task's reviewers' usernames, sorted, when the caller read
            them for a whole page at once (:func:`services.reviewers.usernames_by_task`).
    """
    seen = {} if seen is None else seen

    def get(model: type[Any], key: int) -> Any:
        if (model, key) not in seen:
            seen[model, key] = session.get(model, key)
        return seen[model, key]

    team = get(Team, task.team_id)
    creator = get(User, task.creator_id)
    requester = get(User, task.requested_by_id)
    workflow = get(Workflow, task.workflow_id)
    template = get(Template, task.template_id) if task.template_id else None
    agent = task.agent.get("kind") or (
        template.spec["agent"]["kind"] if template else BUILTIN_DEFAULT.agent.kind
    )
    out = TaskOut(
        id=task.id,
        key=task.key,
        slug=task.slug,
        title=task.title,
        description=task.description,
        repository=task.repository,
        base_branch=task.base_branch,
        branch=task.branch,
        origin=task.origin,
        origin_context=task.origin_context,
        thread=task.thread,
        team=team.key if team else "",
        creator=creator.username if creator else "",
        requested_by=requester.username if requester else "",
        reviewers=reviewers.usernames(session, task.id) if reviewed_by is None else reviewed_by,
        template=f"{template.name}@{template.version}" if template else None,
        agent=agent,
        parameters=task.parameters,
        workflow=workflow.name if workflow else "",
        stage=task.stage,
        status=task.status,
        status_message=task.status_message,
        agent_state=task.agent_state,
        agent_message=task.agent_message,
        input_tokens=task.input_tokens,
        output_tokens=task.output_tokens,
        cost_usd=round(task.cost_usd, 6),
        created_at=task.created_at,
        updated_at=task.updated_at,
        ended_at=task.ended_at,
    )
    if detail:
        rows = session.scalars(
            select(Event).where(Event.task_id == task.id, Event.kind == "status").order_by(Event.id)
        )
        out.status_history = [
            StatusEntry(status=e.data["status"], message=e.data.get("message", ""), at=e.created_at)
            for e in rows
        ]
        out.pull_requests = [pull_out(p) for p in pulls.pulls_of(session, task.id)]
    return out
