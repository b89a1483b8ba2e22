"""The New task form: built from the chosen template's parameters, posted into the same
service the API's ``POST /api/v1/tasks`` uses, its problems shown beside their fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskyard.api.bridge import EngineBridge
from taskyard.api.deps import EngineDep, SessionDep, SettingsDep
from taskyard.api.invalid import describe
from taskyard.api.pages.common import form_fields, page
from taskyard.api.viewer import MAX_FORM, CheckedViewerDep, Viewer, ViewerDep
from taskyard.config import Settings
from taskyard.model.errors import Forbidden, TaskyardError
from taskyard.model.template import BUILTIN_DEFAULT, TemplateSpec
from taskyard.services import actions, task_choices
from taskyard.services.tasks import TaskCreate
from taskyard.web import task_form

router = APIRouter(include_in_schema=False)
Ref = Annotated[str, Query(max_length=100)]
# Which form field a service's message is about, by the message's first word.
FIELD_WORDS = {"title": "title", "repository": "repository", "workflow": "workflow"}
FIELD_WORDS |= {"template": "template", "team": "team", "base": "base_branch"}
FIELD_WORDS |= {"reviewer": "reviewers", "reviewers": "reviewers"}


def _spec(
    session: Session, viewer: Viewer, template: str, team: str, problems: dict[str, str]
) -> TemplateSpec:
    try:
        return task_choices.template_spec(session, viewer.principal, template, team)
    except TaskyardError as exc:
        if isinstance(exc, Forbidden):
            raise
        problems["template"] = exc.message
        return BUILTIN_DEFAULT


def _form(
    session: Session,
    viewer: Viewer,
    posted: Mapping[str, str],
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    problems = dict(problems or {})
    spec = _spec(session, viewer, posted.get("template", ""), posted.get("team", ""), problems)
    return page(
        "new_task.html",
        viewer,
        status=status,
        section="new",
        choices=task_choices.choices(session, viewer.principal),
        posted=posted,
        problems=problems,
        fields=task_form.fields(spec, posted, problems),
    )


@router.get("/tasks/new", response_class=HTMLResponse)
def new_task(
    viewer: ViewerDep, session: SessionDep, template: Ref = "", team: Ref = ""
) -> HTMLResponse:
    return _form(session, viewer, {"template": template, "team": team})


@router.get("/tasks/new/parameters", response_class=HTMLResponse)
def parameter_fields(
    viewer: ViewerDep, session: SessionDep, template: Ref = "", team: Ref = ""
) -> HTMLResponse:
    """The parameter fields alone, for the form to swap in when the template changes."""
    problems: dict[str, str] = {}
    spec = _spec(session, viewer, template, team, problems)
    return page(
        "task_parameters.html",
        viewer,
        fields=task_form.fields(spec, {}, problems),
        problems=problems,
    )


@router.post("/tasks/new")
async def create_task(
    request: Request,
    viewer: CheckedViewerDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    form = await form_fields(request, MAX_FORM)
    return await run_in_threadpool(_create, session, engine, settings, viewer, form)


def _body(spec: TemplateSpec, form: Mapping[str, str]) -> dict[str, Any]:
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "repository": form.get("repository", ""),
        "base_branch": form.get("base_branch", ""),
        "team": form.get("team") or None,
        "workflow": form.get("workflow") or None,
        "template": form.get("template") or None,
        "parameters": task_form.read_parameters(spec, form),
        "reviewers": task_form.usernames(form.get("reviewers", "")),
        "origin": "dashboard",
    }


def _create(
    session: Session,
    engine: EngineBridge,
    settings: Settings,
    viewer: Viewer,
    form: Mapping[str, str],
) -> Response:
    problems: dict[str, str] = {}
    spec = _spec(session, viewer, form.get("template", ""), form.get("team", ""), problems)
    if problems:
        return _form(session, viewer, form, problems, status=400)
    try:
        body = TaskCreate.model_validate(_body(spec, form))
        roots = settings.local_repository_roots
        created = actions.create(session, engine, viewer.principal, body, local_roots=roots)
    except ValidationError as exc:
        first = exc.errors()[0]["loc"]
        field = str(first[0]) if first else ""
        problems[field if field in FIELD_WORDS.values() else ""] = describe(exc)
    except Forbidden:
        raise
    except TaskyardError as exc:
        session.rollback()
        word = exc.message.split(" ", 1)[0].lower()
        parameter = task_form.problem_field(exc.message)
        problems[parameter or FIELD_WORDS.get(word, "")] = exc.message
    else:
        return RedirectResponse(f"/tasks/{created.task.key}", status_code=303)
    return _form(session, viewer, form, problems, status=400)
