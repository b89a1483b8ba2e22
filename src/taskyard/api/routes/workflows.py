"""Teams and their workflows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import TeamOut, WorkflowOut
from taskyard.db.models import Team, Workflow
from taskyard.model.inputs import Label, Name
from taskyard.model.workflow import parse_spec
from taskyard.services import teams, workflows

router = APIRouter(prefix="/api/v1", tags=["workflows"])


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Name
    name: Label = ""
    slug: Name = ""


class WorkflowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: Name | None = None
    name: Name
    stages: list[dict[str, Any]] = Field(max_length=50)
    default: bool = False


def _team_out(team: Team) -> dict[str, Any]:
    return {"key": team.key, "slug": team.slug, "name": team.name, "tasks": team.next_number}


def _workflow_out(team: Team, workflow: Workflow, active: int | None = None) -> dict[str, Any]:
    out = {
        "team": team.key,
        "name": workflow.name,
        "default": workflow.is_default,
        "archived": workflow.archived_at is not None,
        "stages": workflow.stages,
    }
    if active is not None:
        out["active_tasks"] = active
    return out


@router.get("/teams", response_model=list[TeamOut])
def list_teams(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    principal.require("tasks:read")
    return [_team_out(t) for t in teams.list_teams(session, principal.org_id)]


@router.post("/teams", status_code=201, response_model=TeamOut, responses=errors(409))
def create_team(body: TeamIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a team (admin); it gets the default workflow Plan → Code → Review → Done."""
    principal.require("admin")
    return _team_out(teams.create_team(session, principal.org_id, body.key, body.name, body.slug))


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(
    session: SessionDep, principal: PrincipalDep, team: str | None = None, archived: bool = False
) -> list[dict[str, Any]]:
    principal.require("tasks:read")
    found = teams.resolve_team(session, principal.org_id, team)
    return [
        _workflow_out(found, w, workflows.active_tasks_on(session, w))
        for w in workflows.list_workflows(session, found, archived=archived)
    ]


@router.post(
    "/workflows",
    status_code=201,
    response_model=WorkflowOut,
    response_model_exclude_none=True,
    responses={
        **errors(409),
        **links(
            201,
            "name",
            ("POST", "/api/v1/workflows/{name}/default", "name"),
            ("POST", "/api/v1/workflows/{name}/archive", "name"),
            ("DELETE", "/api/v1/workflows/{name}", "name"),
        ),
    },
)
def create_workflow(
    body: WorkflowIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    principal.require("workflows:write")
    team = teams.resolve_team(session, principal.org_id, body.team)
    spec = parse_spec({"name": body.name, "stages": body.stages})
    return _workflow_out(
        team, workflows.create_workflow(session, team, spec, make_default=body.default)
    )


@router.post(
    "/workflows/{name}/default",
    response_model=WorkflowOut,
    response_model_exclude_none=True,
    responses=errors(409),
)
def set_default(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> dict[str, Any]:
    principal.require("workflows:write")
    found = teams.resolve_team(session, principal.org_id, team)
    workflow = workflows.get_workflow(session, found, name)
    workflows.set_default(session, found, workflow)
    return _workflow_out(found, workflow)


@router.post("/workflows/{name}/archive", response_model=WorkflowOut, responses=errors(409))
def archive(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> dict[str, Any]:
    """Archive: no new tasks on it; tasks already on it finish on it."""
    principal.require("workflows:write")
    found = teams.resolve_team(session, principal.org_id, team)
    workflow = workflows.get_workflow(session, found, name)
    workflows.archive_workflow(session, found, workflow)
    return _workflow_out(found, workflow, workflows.active_tasks_on(session, workflow))


@router.delete("/workflows/{name}", status_code=204, responses=errors(409))
def delete(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> None:
    """Delete a workflow no task ever used (409 otherwise: archive it instead)."""
    principal.require("workflows:write")
    found = teams.resolve_team(session, principal.org_id, team)
    workflows.delete_workflow(session, found, workflows.get_workflow(session, found, name))
