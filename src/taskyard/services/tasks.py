"""Tasks: creation (validated, numbered), lookup, listing and status changes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from taskyard.db.models import Task, Team, Template, User, utcnow
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.inputs import (
    Body,
    Int32,
    JsonObject,
    Label,
    Location,
    Name,
    Thread,
    Title,
    mend_text,
    parse_id,
)
from taskyard.model.registry import AGENTS, require_kind
from taskyard.model.status import FINAL, UNSETTLED, AgentState, TaskStatus
from taskyard.model.template import BUILTIN_DEFAULT, AgentSpec, TemplateSpec
from taskyard.services import (
    events,
    forge_settings,
    reviewers,
    task_notices,
    teams,
    templates,
    tracking,
    workflows,
)
from taskyard.services.access import Principal, require
from taskyard.services.parameters import resolve_parameters
from taskyard.services.repositories import validate_branch, validate_repository
from taskyard.services.reviewers import DESCRIBED as REVIEWERS
from taskyard.services.reviewers import Reviewers
from taskyard.services.users import find_user

ORIGINS = (
    "user_created",
    "api",
    "cli",
    "sdk",
    "dashboard",
    "github",
    "github_issue",
    "github_comment",
    "github_pull_request",
    "github_action",
    "error_tracking",
    "support_queue",
    "mcp",
    "webhook",
    "schedule",
)
KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([0-9]{1,9})$")


class TaskCreate(BaseModel):
    """What a caller gives to create a task."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[Title, Field(examples=["Fix the login redirect"])]
    description: Body = ""
    repository: Annotated[Location, Field(examples=["acme/shop"])]
    base_branch: Label = ""
    team: Name | None = Field(None, description="Team key or slug; the first team when absent.")
    origin: Literal[ORIGINS] = "api"  # type: ignore[valid-type]
    origin_context: JsonObject = Field(default_factory=dict)
    creator: Name | None = Field(None, description="Username the task is for; the caller's own.")
    reviewers: Reviewers = Field(default_factory=list, description=REVIEWERS, examples=[["ada"]])
    template: Name | None = None
    template_version: Int32 | None = None
    agent: AgentSpec | None = None
    parameters: JsonObject = Field(default_factory=dict)
    workflow: Name | None = None
    run: Annotated[bool, Field(examples=[False])] = True
    thread: Thread | None = Field(
        None,
        description="The conversation the task answers (`github:acme/shop#12`): while a task "
        "of the organization on this thread is open, the description goes to it as a message "
        "and no task is created.",
        examples=["github:acme/shop#12"],
    )


def slugify(text: str, limit: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def _resolve_template(
    session: Session, org_id: int, team: Team, body: TaskCreate
) -> tuple[Template | None, TemplateSpec]:
    name = body.template or team.default_template
    row = templates.get_template(session, org_id, name, body.template_version) if name else None
    spec = templates.spec_of(row) if row else BUILTIN_DEFAULT
    if body.agent is not None:
        require_kind(AGENTS, "agent kind", body.agent.kind)
        spec = spec.model_copy(update={"agent": body.agent})
    return row, spec


def create_task(
    session: Session, principal: Principal, body: TaskCreate, *, local_roots: Sequence[Path]
) -> Task:
    """Validate, number and store a task with its first event (not yet started).

    ``local_roots``: where a repository given as a local path may be.
    """
    require(principal, "tasks:write")
    title = body.title.strip()
    if not title:
        raise InvalidInput("Title must not be empty.")
    repository = validate_repository(body.repository, local_roots)
    base_branch = validate_branch(body.base_branch)
    team = teams.resolve_team(session, principal.org_id, body.team)
    creator = resolve_creator(session, principal, body.creator)
    asked = reviewers.resolve(session, principal.org_id, body.reviewers)
    workflow = (
        workflows.get_workflow(session, team, body.workflow)
        if body.workflow
        else workflows.default_workflow(session, team)
    )
    if workflow.archived_at is not None:
        raise InvalidInput(f"Workflow '{workflow.name}' is archived.")
    template_row, spec = _resolve_template(session, principal.org_id, team, body)
    parameters = resolve_parameters(spec, body.parameters, default_prompt=body.description)

    # Taking the team's counter first locks the team row (PostgreSQL) or the
    # database (SQLite BEGIN IMMEDIATE) until commit, so numbers and slugs
    # cannot be handed out twice however many requests race.
    number = session.execute(
        update(Team)
        .where(Team.id == team.id)
        .values(next_number=Team.next_number + 1)
        .returning(Team.next_number)
    ).scalar_one()
    key = f"{team.key}-{number}"
    slug = _unique_slug(session, team.id, slugify(title))
    forge = forge_settings.site_for(session, principal.org_id, repository)
    task = Task(
        org_id=principal.org_id,
        team_id=team.id,
        number=number,
        key=key,
        slug=slug,
        title=title,
        description=body.description,
        repository=repository,
        forge=forge.kind,
        forge_url=forge.url,
        forge_api_url=forge.api_url,
        base_branch=base_branch,
        origin=body.origin,
        origin_context=body.origin_context,
        thread=body.thread,
        creator_id=creator.id,
        requested_by_id=principal.user_id,
        template_id=template_row.id if template_row else None,
        agent=body.agent.model_dump() if body.agent else {},
        parameters=parameters,
        workflow_id=workflow.id,
        status=TaskStatus.QUEUED,
        branch=f"taskyard/{key}-{slug}",
        run_requested=body.run,
    )
    session.add(task)
    session.flush()
    created: dict[str, object] = {"by": principal.username, "origin": body.origin}
    if asked:
        reviewers.replace(session, task.id, asked)
        created["reviewers"] = sorted(user.username for user in asked)
    events.append(session, task.id, "created", created)
    events.append(session, task.id, "status", {"status": TaskStatus.QUEUED, "message": ""})
    task_notices.created(session, task)
    return task


def resolve_creator(session: Session, principal: Principal, username: str | None) -> User:
    """Whom a task is for: the caller, or ``username`` (needs ``tasks:create-for-others``)."""
    if username is None or username == principal.username:
        user = session.get(User, principal.user_id)
        assert user is not None
        return user
    require(principal, "tasks:create-for-others")
    user = find_user(session, principal.org_id, username)
    if user is None:
        raise InvalidInput(f"Unknown user '{username}'.")
    return user


def _unique_slug(session: Session, team_id: int, base: str) -> str:
    """``base``, or ``base-N`` with the first N from 2 that no task of the team has.

    A title's slug is most often free: one lookup in the team's slug index. Only a taken
    one reads its numbered variants (a prefix ``LIKE`` uses no index on either
    database: it read every slug of the team, at every create).
    """
    taken = select(Task.slug).where(Task.team_id == team_id)
    if session.scalar(taken.where(Task.slug == base)) is None:
        return base
    numbered = set(session.scalars(taken.where(Task.slug.like(f"{base}-%"))))
    n = 2
    while f"{base}-{n}" in numbered:
        n += 1
    return f"{base}-{n}"


def get_task(session: Session, principal: Principal, ref: str) -> Task:
    """Find a task by key (``TY-42``) or id, within the caller's organization only."""
    require(principal, "tasks:read")
    query = select(Task).where(Task.org_id == principal.org_id)
    task_id = parse_id(ref)
    if task_id is not None:
        query = query.where(Task.id == task_id)
    elif KEY.match(ref):
        query = query.where(Task.key == ref.upper())
    else:
        raise NotFound(f"Task '{ref}' not found.")
    task = session.scalar(query)
    if task is None:
        raise NotFound(f"Task '{ref}' not found.")
    return task


def filter_clauses(
    session: Session,
    org_id: int,
    *,
    status: str | None = None,
    team: str | None = None,
    origin: str | None = None,
    repository: str | None = None,
    creator: str | None = None,
) -> list[ColumnElement[bool]]:
    """The conditions that pick an organization's tasks by these filters (unset: any)."""
    if status and status not in tuple(TaskStatus):
        known = ", ".join(TaskStatus)
        raise InvalidInput(f"Unknown status '{status}'. Known: {known}.")
    clauses = [Task.org_id == org_id]
    if status:
        clauses.append(Task.status == status)
    if team:
        clauses.append(Task.team_id == teams.resolve_team(session, org_id, team).id)
    if origin:
        clauses.append(Task.origin == origin)
    if repository:
        clauses.append(Task.repository == repository)
    if creator:
        user = find_user(session, org_id, creator)
        clauses.append(Task.creator_id == (user.id if user else -1))
    return clauses


def list_tasks(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    team: str | None = None,
    origin: str | None = None,
    repository: str | None = None,
    creator: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Task]:
    """Newest first; ``before`` is the id of the last task of the previous page."""
    require(principal, "tasks:read")
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200.")
    clauses = filter_clauses(
        session,
        principal.org_id,
        status=status,
        team=team,
        origin=origin,
        repository=repository,
        creator=creator,
    )
    if before:
        clauses.append(Task.id < before)
    query = select(Task).where(*clauses)
    return list(session.scalars(query.order_by(Task.id.desc()).limit(limit)))


def set_status(
    session: Session, task: Task, status: str, message: str = "", *, stage: str | None = None
) -> None:
    """Move a task to ``status`` (and ``stage``), recording each change as an event,
    owing its tracking comment an edit and its people the notices they want."""
    changed = False
    if stage is not None and stage != task.stage:
        task.stage = stage
        events.append(session, task.id, "stage", {"stage": stage})
        changed = True
    message = mend_text(message)  # often an error's text, which may quote anything
    if status != task.status or message != task.status_message:
        entered = status != task.status
        task.status = status
        task.status_message = message
        if status in FINAL:
            task.ended_at = utcnow()
            _settle_agent_state(session, task, status, message)
        events.append(session, task.id, "status", {"status": status, "message": message})
        if entered:
            task_notices.status_entered(session, task, status, message)
        changed = True
    if changed:
        tracking.mark(session, task.id)


def _settle_agent_state(session: Session, task: Task, status: str, message: str) -> None:
    """Make the agent's state agree with the task's final status.

    A turn that carried out its stop has said so already; this covers what ended
    without a turn to say it (a cancel at a gate, an abandoned turn): a cancelled
    task's agent is ``cancelled`` unless it had failed, a failed task's agent that
    still reads as working is ``failure`` with the task's reason.
    """
    state = task.agent_state
    if status == TaskStatus.CANCELLED and state not in (
        "",
        AgentState.CANCELLED,
        AgentState.FAILURE,
    ):
        settled = AgentState.CANCELLED
    elif status == TaskStatus.FAILED and state in UNSETTLED:
        settled = AgentState.FAILURE
    elif status == TaskStatus.COMPLETED and state in UNSETTLED:
        settled = AgentState.COMPLETE
    else:
        return
    task.agent_state, task.agent_message = settled, message
    data = {"type": "state", "state": settled, "message": message}
    events.append(session, task.id, "agent", data)


def set_agent_state(session: Session, task: Task, state: str, message: str) -> None:
    """Record what the agent says it is doing; a late report cannot revive an ended task."""
    if task.status in FINAL and state in UNSETTLED:
        return
    if (task.agent_state, task.agent_message) != (state, message):
        task.agent_state, task.agent_message = state, message
        tracking.mark(session, task.id)
