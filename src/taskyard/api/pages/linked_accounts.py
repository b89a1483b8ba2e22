"""``/settings/external-auth``: the accounts linked to you, and linking your GitHub account.

The button asks for a one-time URL (as ``POST /api/v1/identities/github/link`` does) and
goes there; GitHub sends the browser back to the callback, whose outcome is a page that
says what to do next. The start and the callback need no sign-in: the one-time state is
the credential, and it names the user. Each does its database work in a thread; the
callback's wait on GitHub is async.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from taskyard.api.deps import SessionDep, SettingsDep
from taskyard.api.pages.common import page
from taskyard.api.pages.forms import settings_page
from taskyard.api.viewer import CheckedViewerDep, OptionalViewerDep, Viewer, ViewerDep
from taskyard.config import Settings
from taskyard.db.models import User
from taskyard.db.session import session_scope
from taskyard.forges.github_oauth import (
    AGAIN,
    GitHubAccount,
    OAuthApp,
    account_for_code,
    authorize_url,
)
from taskyard.model.errors import TaskyardError
from taskyard.services import github_links, users

router = APIRouter(include_in_schema=False)
MAX_PARAM = 100  # GitHub's states, codes and error names are far shorter
PATH = "/settings/external-auth"


def _identities(
    session: Session, viewer: Viewer, error: TaskyardError | None = None
) -> HTMLResponse:
    try:
        linked = users.identities_of(session, viewer.principal)
    except TaskyardError as exc:
        linked, error = [], error or exc
    return settings_page(
        "settings/identities.html",
        viewer,
        section="settings",
        menu="identities",
        error=error,
        identities=linked,
        title="",
        message="",
    )


def _outcome(viewer: Viewer | None, title: str, message: str, status: int = 200) -> Response:
    return page(
        "settings/identities.html",
        viewer,
        status=status,
        section="settings",
        menu="identities",
        notice="",
        error="",
        identities=None,
        title=title,
        message=message,
    )


@router.get(PATH, response_class=HTMLResponse)
def identities(viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    return _identities(session, viewer)


@router.post(f"{PATH}/github")
def link_github(viewer: CheckedViewerDep, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        started = github_links.begin(session, viewer.principal, settings)
    except TaskyardError as exc:
        return _identities(session, viewer, exc)
    return RedirectResponse(started.url, status_code=303)


@router.get(github_links.START_PATH)
def start(viewer: OptionalViewerDep, settings: SettingsDep, state: str = "") -> Response:
    state = state[:MAX_PARAM]
    try:
        with session_scope(settings.resolved_database_url, write=False) as session:
            app, callback = github_links.authorize_target(session, settings, state)
    except TaskyardError as exc:
        return _outcome(viewer, "Not linked", exc.message, exc.status)
    return RedirectResponse(authorize_url(app, state, callback), status_code=302)


@router.get(github_links.CALLBACK_PATH)
async def callback(
    viewer: OptionalViewerDep,
    settings: SettingsDep,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    # Cut, not refused with JSON: a browser is here, and a cut value is simply not valid.
    state, code, error = state[:MAX_PARAM], code[:MAX_PARAM], error[:MAX_PARAM]
    url = settings.resolved_database_url
    try:
        # The state is spent first, in its own transaction: a URL works once, even when
        # what follows fails.
        user, app = await asyncio.to_thread(_take, url, settings, state)
        if error or not code:
            return _outcome(
                viewer,
                "Not linked",
                f"GitHub did not sign you in ({error or 'no code'}). {AGAIN}",
                400,
            )
        account = await account_for_code(app, code, github_links.callback_url(settings))
        linked = await asyncio.to_thread(_link, url, user.id, account)
    except TaskyardError as exc:
        return _outcome(viewer, "Not linked", exc.message, exc.status)
    if linked.already:
        return _outcome(
            viewer,
            "Already linked",
            f"GitHub account {account.login} (ID {account.id}) was already linked to "
            f"taskyard user {linked.username}.",
        )
    return _outcome(
        viewer,
        "Linked",
        f"GitHub account {account.login} (ID {account.id}) is now linked to taskyard user "
        f"{linked.username}: your issues and comments on GitHub can start tasks, on "
        "repositories you may write to.",
    )


def _take(url: str, settings: Settings, state: str) -> tuple[User, OAuthApp]:
    with session_scope(url) as session:
        return github_links.take(session, settings, state)


def _link(url: str, user_id: int, account: GitHubAccount) -> github_links.Linked:
    with session_scope(url) as session:
        return github_links.link(session, user_id, account)
