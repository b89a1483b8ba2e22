"""Workflows of a team: stored, listed, made default, archived.

A request names the team (key or slug; the organization's first team when absent)
and goes through the functions that take its ``Principal``; the rest serve the
system and other services that checked their caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from taskyard.db.models import Task, Team, Workflow, utcnow
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.status import ACTIVE
from taskyard.model.workflow import Stage, WorkflowSpec, parse_spec
from taskyard.services import audit, safe_yaml
from taskyard.services.access import Principal, require
from taskyard.services.teams import resolve_team

WRITE = "workflows:write"


@dataclass(frozen=True)
class TeamWorkflow:
    """A workflow with its team, and how many tasks still run on it where that is asked."""

    team: Team
    workflow: Workflow
    active: int | None = None


def workflows_of(
    session: Session, principal: Principal, team_ref: str | None, *, archived: bool = False
) -> list[TeamWorkflow]:
    require(principal, "tasks:read")
    team = resolve_team(session, principal.org_id, team_ref)
    return [
        TeamWorkflow(team, w, active_tasks_on(session, w))
        for w in list_workflows(session, team, archived=archived)
    ]


def create_workflow(
    session: Session,
    principal: Principal,
    team_ref: str | None,
    name: str,
    stages: list[dict[str, Any]],
    *,
    make_default: bool = False,
) -> TeamWorkflow:
    require(principal, WRITE)
    team = resolve_team(session, principal.org_id, team_ref)
    spec = parse_spec({"name": name, "stages": stages})
    workflow = store_workflow(session, team, spec, make_default=make_default)
    audit.record(session, principal, "workflow.created", f"{team.key}/{name}")
    return TeamWorkflow(team, workflow)


def create_from_source(
    session: Session,
    principal: Principal,
    team_ref: str | None,
    source: str,
    *,
    make_default: bool = False,
) -> TeamWorkflow:
    """Create a workflow from YAML or JSON text (``name``, ``stages``, optionally ``team``
    and ``default``), as `taskyard workflows create` reads a file."""
    require(principal, WRITE)
    try:
        spec = safe_yaml.load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(
            f"The workflow is not valid YAML or JSON{where}: {getattr(exc, 'problem', exc)}"
        ) from exc
    if not isinstance(spec, dict) or "name" not in spec or not isinstance(spec.get("stages"), list):
        raise InvalidInput("A workflow is a mapping with a 'name' and a list of 'stages'.")
    return create_workflow(
        session,
        principal,
        team_ref or (str(spec["team"]) if spec.get("team") else None),
        str(spec["name"]),
        spec["stages"],
        make_default=make_default or spec.get("default") is True,
    )


def _named(
    session: Session, principal: Principal, team_ref: str | None, name: str
) -> tuple[Team, Workflow]:
    require(principal, WRITE)
    team = resolve_team(session, principal.org_id, team_ref)
    return team, get_workflow(session, team, name)


def make_default(
    session: Session, principal: Principal, team_ref: str | None, name: str
) -> TeamWorkflow:
    team, workflow = _named(session, principal, team_ref, name)
    set_default(session, team, workflow)
    audit.record(session, principal, "workflow.made_default", f"{team.key}/{name}")
    return TeamWorkflow(team, workflow)


def archive(
    session: Session, principal: Principal, team_ref: str | None, name: str
) -> TeamWorkflow:
    """Archive a workflow: new tasks cannot use it; tasks already on it finish on it."""
    team, workflow = _named(session, principal, team_ref, name)
    if workflow.is_default:
        raise Conflict(
            f"Workflow '{workflow.name}' is the team's default; set another default first."
        )
    workflow.archived_at = utcnow()
    audit.record(session, principal, "workflow.archived", f"{team.key}/{name}")
    return TeamWorkflow(team, workflow, active_tasks_on(session, workflow))


def delete(session: Session, principal: Principal, team_ref: str | None, name: str) -> None:
    """Delete a workflow no task has ever used; otherwise refuse and say to archive it."""
    team, workflow = _named(session, principal, team_ref, name)
    used = session.scalar(select(func.count()).where(Task.workflow_id == workflow.id))
    if used:
        raise Conflict(f"Workflow '{workflow.name}' is used by {used} task(s); archive it instead.")
    if workflow.is_default:
        raise Conflict(f"Workflow '{workflow.name}' is the team's default; set another first.")
    session.delete(workflow)
    audit.record(session, principal, "workflow.deleted", f"{team.key}/{name}")


def store_workflow(
    session: Session, team: Team, spec: WorkflowSpec, *, make_default: bool = False
) -> Workflow:
    exists = session.scalar(
        select(Workflow).where(Workflow.team_id == team.id, Workflow.name == spec.name)
    )
    if exists is not None:
        raise Conflict(f"Team {team.key} already has a workflow named '{spec.name}'.")
    workflow = Workflow(
        team_id=team.id, name=spec.name, stages=[s.model_dump() for s in spec.stages]
    )
    session.add(workflow)
    session.flush()
    if make_default:
        set_default(session, team, workflow)
    return workflow


def list_workflows(session: Session, team: Team, *, archived: bool = False) -> list[Workflow]:
    query = select(Workflow).where(Workflow.team_id == team.id).order_by(Workflow.id)
    if not archived:
        query = query.where(Workflow.archived_at.is_(None))
    return list(session.scalars(query))


def get_workflow(session: Session, team: Team, name: str) -> Workflow:
    workflow = session.scalar(
        select(Workflow).where(Workflow.team_id == team.id, Workflow.name == name)
    )
    if workflow is None:
        raise NotFound(f"Workflow '{name}' not found in team {team.key}.")
    return workflow


def default_workflow(session: Session, team: Team) -> Workflow:
    workflow = session.scalar(
        select(Workflow).where(
            Workflow.team_id == team.id, Workflow.is_default, Workflow.archived_at.is_(None)
        )
    )
    if workflow is None:
        raise InvalidInput(
            f"Team {team.key} has no default workflow configured; name one with 'workflow' "
            "or set a default."
        )
    return workflow


def pinned_stages(task: Task) -> list[Stage] | None:
    """The stages of the workflow ``task`` is pinned to, read in the task's own session
    while its transaction is open (from its identity map, when the task was just made
    there); None otherwise, and the workflow reads them itself.

    Never a new transaction: after a commit, a read would open one, which on SQLite
    holds the write lock until the session ends, across the engine's call that follows.
    """
    session = object_session(task)
    if session is None:
        return None
    workflow = session.identity_map.get(session.identity_key(Workflow, task.workflow_id))
    if workflow is None and session.in_transaction():
        workflow = session.get(Workflow, task.workflow_id)
    return None if workflow is None else [Stage.model_validate(s) for s in workflow.stages]


def set_default(session: Session, team: Team, workflow: Workflow) -> None:
    if workflow.archived_at is not None:
        raise Conflict(f"Workflow '{workflow.name}' is archived and cannot be the default.")
    for other in list_workflows(session, team):
        other.is_default = other.id == workflow.id


def active_tasks_on(session: Session, workflow: Workflow) -> int:
    return (
        session.scalar(
            select(func.count()).where(Task.workflow_id == workflow.id, Task.status.in_(ACTIVE))
        )
        or 0
    )
