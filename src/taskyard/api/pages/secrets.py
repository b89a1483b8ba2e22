"""``/settings/secrets``: the organization's secret names; set and delete.

A value goes in and never comes out: not on the page, not in the answer to a form that
failed (the field is left empty for typing again).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep, SettingsDep
from taskyard.api.pages.forms import FormDep, redirect_done, settings_page, text
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.model.errors import TaskyardError
from taskyard.services import secrets

router = APIRouter(include_in_schema=False)
MAX_NAME = 100
MAX_VALUE = 60_000  # within a form's 64 KiB


def _secrets(
    session: Session,
    viewer: Viewer,
    *,
    done: str = "",
    error: TaskyardError | None = None,
    name: str = "",
) -> HTMLResponse:
    try:
        names = secrets.list_secrets(session, viewer.principal)
    except TaskyardError as exc:  # no secrets:write: even the names are not theirs to see
        names, error = [], error or exc
    return settings_page(
        "settings/secrets.html",
        viewer,
        section="settings",
        menu="secrets",
        done=done,
        error=error,
        secrets=names,
        secret_name=name,
    )


@router.get("/settings/secrets", response_class=HTMLResponse)
def secret_list(viewer: ViewerDep, session: SessionDep, done: str = "") -> HTMLResponse:
    return _secrets(session, viewer, done=done)


@router.post("/settings/secrets")
def set_secret(
    viewer: CheckedViewerDep, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    name = form.get("name", "").strip()[:MAX_NAME]
    try:
        value = text(form, "value", MAX_VALUE, "The value")
        secrets.set_secret(
            session, settings, viewer.principal, text(form, "name", MAX_NAME).strip(), value
        )
    except TaskyardError as exc:
        return _secrets(session, viewer, error=exc, name=name)
    return redirect_done("/settings/secrets", f"Set secret {name}.")


@router.post("/settings/secrets/{name}/delete")
def delete_secret(name: str, viewer: CheckedViewerDep, session: SessionDep) -> Response:
    try:
        secrets.delete_secret(session, viewer.principal, name[:MAX_NAME])
    except TaskyardError as exc:
        return _secrets(session, viewer, error=exc)
    return redirect_done("/settings/secrets", f"Deleted secret {name[:MAX_NAME]}.")
