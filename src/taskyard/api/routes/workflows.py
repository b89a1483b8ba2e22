"""Teams' workflows: ordered stages, each with an agent and a gate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import WorkflowOut
from taskyard.model.inputs import Name
from taskyard.services import workflows

router = APIRouter(prefix="/api/v1", tags=["workflows"])


class WorkflowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: Name | None = None
    name: Name
    stages: list[dict[str, Any]] = Field(max_length=50)
    default: bool = False


def _workflow_out(found: workflows.TeamWorkflow) -> WorkflowOut:
    workflow = found.workflow
    return WorkflowOut(
        team=found.team.key,
        name=workflow.name,
        default=workflow.is_default,
        archived=workflow.archived_at is not None,
        stages=workflow.stages,
        active_tasks=found.active,
    )


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(
    session: SessionDep, principal: PrincipalDep, team: str | None = None, archived: bool = False
) -> list[WorkflowOut]:
    found = workflows.workflows_of(session, principal, team, archived=archived)
    return [_workflow_out(w) for w in found]


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
def create_workflow(body: WorkflowIn, session: SessionDep, principal: PrincipalDep) -> WorkflowOut:
    created = workflows.create_workflow(
        session, principal, body.team, body.name, body.stages, make_default=body.default
    )
    return _workflow_out(created)


@router.post(
    "/workflows/{name}/default",
    response_model=WorkflowOut,
    response_model_exclude_none=True,
    responses=errors(409),
)
def set_default(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> WorkflowOut:
    return _workflow_out(workflows.make_default(session, principal, team, name))


@router.post("/workflows/{name}/archive", response_model=WorkflowOut, responses=errors(409))
def archive(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> WorkflowOut:
    """Archive: no new tasks on it; tasks already on it finish on it."""
    return _workflow_out(workflows.archive(session, principal, team, name))


@router.delete("/workflows/{name}", status_code=204, responses=errors(409))
def delete(
    name: str, session: SessionDep, principal: PrincipalDep, team: str | None = None
) -> None:
    """Delete a workflow no task ever used (409 otherwise: archive it instead)."""
    workflows.delete(session, principal, team, name)
