"""Workflows of a team: stored, listed, made default, archived."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Task, Team, Workflow, utcnow
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.status import ACTIVE
from taskyard.model.workflow import WorkflowSpec


def create_workflow(
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


def set_default(session: Session, team: Team, workflow: Workflow) -> None:
    if workflow.archived_at is not None:
        raise Conflict(f"Workflow '{workflow.name}' is archived and cannot be the default.")
    for other in list_workflows(session, team):
        other.is_default = other.id == workflow.id


def archive_workflow(session: Session, team: Team, workflow: Workflow) -> None:
    """Archive a workflow: new tasks cannot use it; tasks already on it finish on it."""
    if workflow.is_default:
        raise Conflict(
            f"Workflow '{workflow.name}' is the team's default; set another default first."
        )
    workflow.archived_at = utcnow()


def delete_workflow(session: Session, team: Team, workflow: Workflow) -> None:
    """Delete a workflow no task has ever used; otherwise refuse and say to archive it."""
    used = session.scalar(select(func.count()).where(Task.workflow_id == workflow.id))
    if used:
        raise Conflict(f"Workflow '{workflow.name}' is used by {used} task(s); archive it instead.")
    if workflow.is_default:
        raise Conflict(f"Workflow '{workflow.name}' is the team's default; set another first.")
    session.delete(workflow)


def active_tasks_on(session: Session, workflow: Workflow) -> int:
    return (
        session.scalar(
            select(func.count()).where(Task.workflow_id == workflow.id, Task.status.in_(ACTIVE))
        )
        or 0
    )
