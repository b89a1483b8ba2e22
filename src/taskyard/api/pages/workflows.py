"""``/workflows``: a team's workflows with their stages, gates and prompts; creating one
from YAML or JSON, and choosing the team's default."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep
from taskyard.api.pages.forms import FormDep, redirect_done, settings_page, text
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.model.errors import TaskyardError
from taskyard.services import teams, workflows
from taskyard.web.workflow_view import EXAMPLE, stages_of

router = APIRouter(include_in_schema=False)
MAX_TEAM = 64
MAX_SOURCE = 60_000  # within a form's 64 KiB


def _list(
    session: Session,
    viewer: Viewer,
    team: str,
    *,
    done: str = "",
    error: TaskyardError | None = None,
    source: str = "",
) -> HTMLResponse:
    all_teams = teams.list_teams(session, viewer.principal)
    found = workflows.workflows_of(session, viewer.principal, team[:MAX_TEAM] or None)
    chosen = teams.get_team(session, viewer.principal, team[:MAX_TEAM])
    return settings_page(
        "workflows/list.html",
        viewer,
        section="workflows",
        done=done,
        error=error,
        teams=all_teams,
        team=chosen,
        workflows=[(item, stages_of(item.workflow)) for item in found],
        source=source or EXAMPLE,
    )


@router.get("/workflows", response_class=HTMLResponse)
def workflow_list(
    viewer: ViewerDep, session: SessionDep, team: str = "", done: str = ""
) -> HTMLResponse:
    return _list(session, viewer, team, done=done)


@router.post("/workflows")
def create(viewer: CheckedViewerDep, form: FormDep, session: SessionDep) -> Response:
    team = form.get("team", "")[:MAX_TEAM]
    source = form.get("source", "")
    try:
        created = workflows.create_from_source(
            session,
            viewer.principal,
            team or None,
            text(form, "source", MAX_SOURCE, "The workflow"),
            make_default=form.get("default") == "on",
        )
    except TaskyardError as exc:
        return _list(session, viewer, team, error=exc, source=source[:MAX_SOURCE])
    return redirect_done(
        f"/workflows?team={created.team.key}", f"Created workflow {created.workflow.name}."
    )


@router.post("/workflows/{name}/default")
def make_default(
    name: str, viewer: CheckedViewerDep, form: FormDep, session: SessionDep
) -> Response:
    team = form.get("team", "")[:MAX_TEAM]
    try:
        made = workflows.make_default(session, viewer.principal, team or None, name[:100])
    except TaskyardError as exc:
        return _list(session, viewer, team, error=exc)
    return redirect_done(
        f"/workflows?team={made.team.key}",
        f"{made.workflow.name} is now the default workflow of team {made.team.key}.",
    )
