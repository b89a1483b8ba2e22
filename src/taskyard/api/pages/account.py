"""``/settings`` (your account and password) and ``/settings/tokens``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep
from taskyard.api.pages.forms import FormDep, redirect_done, settings_page, text
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.model.errors import InvalidInput, TaskyardError
from taskyard.model.inputs import MAX_INT64
from taskyard.services import passwords, tokens, web_sessions
from taskyard.services.access import DEFAULT_SCOPES
from taskyard.web import settings_view

router = APIRouter(include_in_schema=False)
MAX_NAME = 100


def _account(viewer: Viewer, done: str = "", error: TaskyardError | None = None) -> HTMLResponse:
    return settings_page(
        "settings/account.html",
        viewer,
        section="settings",
        menu="account",
        done=done,
        error=error,
        scopes=sorted(viewer.principal.scopes),
        min_password=web_sessions.MIN_PASSWORD,
    )


@router.get("/settings", response_class=HTMLResponse)
def account(viewer: ViewerDep, done: str = "") -> HTMLResponse:
    return _account(viewer, done)


@router.post("/settings/password")
def change_password(viewer: CheckedViewerDep, form: FormDep, session: SessionDep) -> Response:
    limit = web_sessions.MAX_PASSWORD
    try:
        new = text(form, "new_password", limit, "The new password")
        if new != text(form, "confirm_password", limit, "The repeated password"):
            raise InvalidInput("The new password and its repetition differ: type them again.")
        current = text(form, "current_password", limit, "The current password")
        passwords.change_password(session, viewer.principal, current, new)
    except TaskyardError as exc:
        return _account(viewer, error=exc)
    return redirect_done("/settings", "Password changed; your other browsers are signed out.")


def _tokens(
    session: Session,
    viewer: Viewer,
    *,
    done: str = "",
    error: TaskyardError | None = None,
    created: tuple[str, str] | None = None,
    name: str = "",
    chosen: frozenset[str] = frozenset(),
) -> HTMLResponse:
    try:
        mine = settings_view.in_force(tokens.list_tokens(session, viewer.principal))
    except TaskyardError as exc:  # a sign-in without tokens:read: say so on the page
        mine, error = [], error or exc
    others = []
    if settings_view.is_admin(viewer.principal):
        others = [
            (token, user)
            for token, user in tokens.organization_tokens(session, viewer.principal)
            if user.id != viewer.principal.user_id
        ]
    return settings_page(
        "settings/tokens.html",
        viewer,
        section="settings",
        menu="tokens",
        done=done,
        error=error,
        mine=mine,
        others=others,
        current_id=viewer.principal.token_id,
        grantable=settings_view.grantable(viewer.principal),
        chosen=chosen or frozenset(DEFAULT_SCOPES),
        created=created,
        token_name=name,
    )


@router.get("/settings/tokens", response_class=HTMLResponse)
def token_list(viewer: ViewerDep, session: SessionDep, done: str = "") -> HTMLResponse:
    return _tokens(session, viewer, done=done)


@router.post("/settings/tokens")
def create_token(viewer: CheckedViewerDep, form: FormDep, session: SessionDep) -> Response:
    chosen = frozenset(key.removeprefix("scope:") for key in form if key.startswith("scope:"))
    name = form.get("name", "")[:MAX_NAME]
    try:
        token, value, _ = tokens.mint_token(
            session,
            viewer.principal,
            text(form, "name", MAX_NAME, "The name"),
            sorted(chosen),
            None,
        )
    except TaskyardError as exc:
        return _tokens(session, viewer, error=exc, name=name, chosen=chosen)
    # Shown on this answer only: never in a URL, never again.
    return _tokens(session, viewer, created=(token.name, value))


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(token_id: int, viewer: CheckedViewerDep, session: SessionDep) -> Response:
    try:
        if not 1 <= token_id <= MAX_INT64:
            raise InvalidInput(f"Token {token_id} not found.")
        tokens.revoke_token(session, viewer.principal, token_id)
    except TaskyardError as exc:
        return _tokens(session, viewer, error=exc)
    return redirect_done("/settings/tokens", f"Revoked token {token_id}.")
