"""GitHub triggers: what starts a task on a repository (see docs/github.md).

Read with ``tasks:read``, changed with ``admin``; the rules live in
:mod:`taskyard.services.github_triggers`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import links
from taskyard.api.outputs import GitHubTriggerOut
from taskyard.db.models import GitHubTrigger
from taskyard.model.inputs import MAX_INT64
from taskyard.services import github_triggers
from taskyard.services.github_triggers import TriggerCreate

router = APIRouter(prefix="/api/v1/github", tags=["github"])
TRIGGER = "/api/v1/github/triggers/{trigger_id}"

TriggerId = Annotated[int, Path(ge=1, le=MAX_INT64)]


def _out(trigger: GitHubTrigger) -> GitHubTriggerOut:
    return GitHubTriggerOut.model_validate(trigger, from_attributes=True)


@router.get("/triggers", response_model=list[GitHubTriggerOut])
def list_triggers(
    session: SessionDep,
    principal: PrincipalDep,
    repository: Annotated[str, Query(max_length=200)] = "",
) -> list[GitHubTriggerOut]:
    """The organization's triggers, or one repository's (``owner/name``)."""
    return [_out(t) for t in github_triggers.list_triggers(session, principal, repository)]


@router.post(
    "/triggers",
    status_code=201,
    response_model=GitHubTriggerOut,
    responses=links(201, "id", ("DELETE", TRIGGER, "trigger_id")),
)
def create_trigger(
    body: TriggerCreate, session: SessionDep, principal: PrincipalDep
) -> GitHubTriggerOut:
    """Start tasks on a repository when an issue is labelled or assigned, a comment says
    the phrase, a pull request is opened, or a push touches some paths (needs ``admin``)."""
    return _out(github_triggers.create(session, principal, body))


@router.delete("/triggers/{trigger_id}", status_code=204)
def delete_trigger(trigger_id: TriggerId, session: SessionDep, principal: PrincipalDep) -> None:
    """Remove a trigger (needs ``admin``)."""
    github_triggers.delete(session, principal, trigger_id)
