"""``/templates``: the organization's templates, their versions, a version's YAML, and
pushing a new version from the page, its problems shown at their lines."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep, SettingsDep
from taskyard.api.pages.forms import LargeFormDep, redirect_done, settings_page
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.db.models import Template
from taskyard.model.errors import InvalidInput, NotFound, TaskyardError
from taskyard.model.inputs import MAX_INT32
from taskyard.services import templates
from taskyard.web.source_view import AnnotatedSource, annotate

router = APIRouter(include_in_schema=False)
EXAMPLE = """name: example
description: What this template is for
agent:
  kind: claude-code
parameters:
  - name: ai_prompt
    type: string
    form_type: textarea
"""


def _list(
    session: Session,
    viewer: Viewer,
    *,
    done: str = "",
    error: TaskyardError | None = None,
    source: str = "",
) -> HTMLResponse:
    try:
        rows = templates.list_templates(session, viewer.principal)
    except TaskyardError as exc:
        rows, error = [], error or exc
    return settings_page(
        "templates/list.html",
        viewer,
        section="templates",
        done=done,
        error=error,
        templates=rows,
        source=source or EXAMPLE,
        problems=_problems(source, error),
    )


def _problems(source: str, error: TaskyardError | None) -> AnnotatedSource | None:
    if error is None or not source:
        return None
    return annotate(source, error.details.get("errors", []))


@router.get("/templates", response_class=HTMLResponse)
def template_list(viewer: ViewerDep, session: SessionDep, done: str = "") -> HTMLResponse:
    return _list(session, viewer, done=done)


@router.post("/templates")
def push(
    viewer: CheckedViewerDep, form: LargeFormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    # Browsers send a textarea's lines ending in CRLF; the API's YAML ends them in LF.
    source = form.get("source", "").replace("\r\n", "\n")
    limit = settings.max_template_bytes
    try:
        if len(source.encode()) > limit:
            raise InvalidInput(
                f"The template is larger than {limit} bytes (TASKYARD_MAX_TEMPLATE_BYTES)."
            )
        row = templates.push_template(session, viewer.principal, source, settings)
    except TaskyardError as exc:
        back = form.get("back", "")
        if back:
            return _versions(session, viewer, back, error=exc, source=source)
        return _list(session, viewer, error=exc, source=source)
    return redirect_done(
        f"/templates/{row.name}/{row.version}", f"Pushed {row.name} version {row.version}."
    )


def _versions(
    session: Session,
    viewer: Viewer,
    name: str,
    *,
    version: int | None = None,
    done: str = "",
    error: TaskyardError | None = None,
    source: str = "",
) -> HTMLResponse:
    rows = templates.template_versions(session, viewer.principal, name[:100])
    shown: Template = rows[-1]
    if version is not None:
        shown = next((r for r in rows if r.version == version), shown)
        if shown.version != version:
            raise NotFound(f"Template '{name}' has no version {version}.")
    return settings_page(
        "templates/versions.html",
        viewer,
        section="templates",
        done=done,
        error=error,
        template_name=shown.name,
        versions=list(reversed(rows)),
        shown=shown,
        lines=annotate(shown.source).lines,
        source=source or rows[-1].source,
        problems=_problems(source, error),
    )


@router.get("/templates/{name}", response_class=HTMLResponse)
def versions(name: str, viewer: ViewerDep, session: SessionDep, done: str = "") -> HTMLResponse:
    return _versions(session, viewer, name, done=done)


@router.get("/templates/{name}/{version}", response_class=HTMLResponse)
def version_page(
    name: str, version: int, viewer: ViewerDep, session: SessionDep, done: str = ""
) -> HTMLResponse:
    if not 1 <= version <= MAX_INT32:
        raise NotFound(f"Template '{name}' has no version {version}.")
    return _versions(session, viewer, name, version=version, done=done)
