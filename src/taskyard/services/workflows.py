"""Workflows: ordered stages, each with an optional agent and a gate."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Task, Team, Workflow, utcnow
from taskyard.errors import Conflict, InvalidInput, NotFound
from taskyard.services.inputs import Body, Label, Name

STAGE_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
ACTIVE = ("queued", "provisioning", "working", "waiting")


class StageAgent(BaseModel):
    """The agent a stage runs: a template (the task's when absent) and a prompt."""

    model_config = ConfigDict(extra="forbid")
    template: Name | None = None
    prompt: Body = ""


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Name
    name: Label = ""
    agent: StageAgent | None = None
    gate: Literal["auto", "approval"] = "auto"
    deliver: bool = Field(
        False, description="Commit, push and open a pull request after the agent."
    )
    request_changes_to: Name | None = Field(
        None, description="Stage that request-changes sends the task back to (default: this one)."
    )

    @model_validator(mode="after")
    def _check(self) -> Stage:
        if not STAGE_KEY.match(self.key):
            raise ValueError(
                f"stage key {self.key!r} must be lowercase letters, digits, '-' or '_'"
            )
        self.name = self.name or self.key.title()
        return self


class WorkflowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> WorkflowSpec:
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError("stage keys must be unique")
        for stage in self.stages:
            if stage.request_changes_to and stage.request_changes_to not in keys:
                raise ValueError(
                    f"stage {stage.key!r}: request_changes_to {stage.request_changes_to!r} "
                    "is not a stage of this workflow"
                )
        return self


DEFAULT_WORKFLOW = WorkflowSpec(
    name="default",
    stages=[
        Stage(key="plan", name="Plan", agent=StageAgent(), gate="approval"),
        Stage(key="code", name="Code", agent=StageAgent(), deliver=True),
        Stage(
            key="review",
            name="Review",
            agent=StageAgent(),
            gate="approval",
            request_changes_to="code",
        ),
        Stage(key="done", name="Done"),
    ],
)


def parse_spec(data: dict[str, Any]) -> WorkflowSpec:
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"Invalid workflow: {where + ': ' if where else ''}{first['msg']}"
        ) from exc


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


def stages_of(workflow: Workflow) -> list[Stage]:
    return [Stage.model_validate(s) for s in workflow.stages]


def active_tasks_on(session: Session, workflow: Workflow) -> int:
    return (
        session.scalar(
            select(func.count()).where(Task.workflow_id == workflow.id, Task.status.in_(ACTIVE))
        )
        or 0
    )
