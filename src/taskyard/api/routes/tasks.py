"""Tasks: create, list, show, and what people do to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import EngineDep, PrincipalDep, ReaderDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors, links
from taskyard.api.schemas import TaskOut, TaskPage, task_out
from taskyard.model.inputs import MAX_INT64, Body, Digits, Location, Name
from taskyard.model.status import FINAL
from taskyard.services import actions, reviewers, tasks
from taskyard.services.reviewers import DESCRIBED as REVIEWERS
from taskyard.services.reviewers import Reviewers
from taskyard.services.tasks import TaskCreate

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Body


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Body = ""


class RequestChangesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Body
    stage: Name = ""


class ReviewersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviewers: Reviewers = Field(description=REVIEWERS, examples=[["ada"]])


CONFLICT = errors(409)
TASK = "/api/v1/tasks/{ref}"
CREATED = links(
    201,
    "key",
    ("GET", TASK, "ref"),
    *(("POST", f"{TASK}/{action}", "ref") for action in ("start", "messages", "cancel")),
    *(("POST", f"{TASK}/{action}", "ref") for action in ("approve", "request-changes")),
    *(("GET", f"{TASK}/{view}", "ref") for view in ("events", "diff", "pulls")),
    ("PUT", f"{TASK}/reviewers", "ref"),
)


FOLDED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TaskOut,
        "description": "No task was created: the organization already has an open task on "
        "the body's `thread`, and the description was sent to it as a message (queued if "
        "its agent is busy). The body is that task.",
    }
}


@router.post("", status_code=201, responses={**CREATED, **FOLDED})
def create_task(
    body: TaskCreate,
    response: Response,
    session: SessionDep,
    reader: ReaderDep,
    principal: PrincipalDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> TaskOut:
    """Create a task; it starts running at once unless ``run`` is false.

    With a ``thread`` that has an open task, the description goes to that task as a
    message instead, and the answer is 200 with that task.
    """
    roots = settings.local_repository_roots
    result = actions.create(session, engine, principal, body, local_roots=roots)
    if not result.created:
        response.status_code = 200
    return task_out(reader, result.task)  # committed: read without the write lock


@router.get("")
def list_tasks(
    session: SessionDep,
    principal: PrincipalDep,
    status: Name | None = None,
    team: Name | None = None,
    origin: Name | None = None,
    repository: Location | None = None,
    creator: Name | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Digits, Query(ge=1, le=MAX_INT64)] = None,
) -> TaskPage:
    """Newest first; pass ``before=<next_before>`` for the next page."""
    rows = tasks.list_tasks(
        session,
        principal,
        status=status,
        team=team,
        origin=origin,
        repository=repository,
        creator=creator,
        limit=limit,
        before=before,
    )
    seen: dict[Any, Any] = {}
    asked = reviewers.usernames_by_task(session, [t.id for t in rows])
    return TaskPage(
        items=[task_out(session, t, seen=seen, reviewed_by=asked.get(t.id, [])) for t in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/{ref}")
def show_task(ref: str, session: SessionDep, principal: PrincipalDep, engine: EngineDep) -> TaskOut:
    task = tasks.get_task(session, principal, ref)
    out = task_out(session, task, detail=True)
    if task.status not in FINAL and task.run_requested:
        out.live = engine.state(task)
    return out


@router.post("/{ref}/start", responses=CONFLICT)
def start_task(
    ref: str, session: SessionDep, reader: ReaderDep, principal: PrincipalDep, engine: EngineDep
) -> TaskOut:
    return task_out(reader, actions.start(session, engine, principal, ref))  # committed


@router.post("/{ref}/messages", responses=CONFLICT, status_code=202)
def send_message(
    ref: str, body: MessageIn, session: SessionDep, principal: PrincipalDep, engine: EngineDep
) -> TaskOut:
    """Queue a message for the agent; it is delivered as the agent's next turn."""
    return task_out(session, actions.message(session, engine, principal, ref, body.text))


@router.post("/{ref}/approve", responses=CONFLICT, status_code=202)
def approve(
    ref: str,
    session: SessionDep,
    principal: PrincipalDep,
    engine: EngineDep,
    body: ApproveIn | None = None,
) -> TaskOut:
    comment = body.comment if body else ""
    return task_out(session, actions.approve(session, engine, principal, ref, comment))


@router.post("/{ref}/request-changes", responses=CONFLICT, status_code=202)
def request_changes(
    ref: str,
    body: RequestChangesIn,
    session: SessionDep,
    principal: PrincipalDep,
    engine: EngineDep,
) -> TaskOut:
    task = actions.request_changes(session, engine, principal, ref, body.text, body.stage)
    return task_out(session, task)


@router.post("/{ref}/cancel", responses=CONFLICT, status_code=202)
def cancel(ref: str, session: SessionDep, principal: PrincipalDep, engine: EngineDep) -> TaskOut:
    return task_out(session, actions.cancel(session, engine, principal, ref))


@router.put("/{ref}/reviewers")
def set_reviewers(
    ref: str, body: ReviewersIn, session: SessionDep, principal: PrincipalDep
) -> TaskOut:
    """Make ``reviewers`` the task's reviewers, in place of those it had (``[]``: none).

    They hear of the task as its creator does, from now on: notices already sent are not
    sent again. Each username must be one of the organization's people.
    """
    task = actions.set_reviewers(session, principal, ref, body.reviewers)
    return task_out(session, task)
