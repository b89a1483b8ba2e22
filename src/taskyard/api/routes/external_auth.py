"""Linking one's own GitHub account: the API call that starts it, and the pages a browser
goes through (``/settings/external-auth``, then GitHub, then the callback).

The pages are for people: their errors are pages that say what to do next, not JSON.
Each page does its database work in a thread; the callback's wait on GitHub is async.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors
from taskyard.api.outputs import GitHubLinkOut
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
from taskyard.services import github_links
from taskyard.web.external_auth import render_external_auth

router = APIRouter(prefix="/api/v1", tags=["users"])
pages = APIRouter(include_in_schema=False)

MAX_PARAM = 100  # GitHub's states, codes and error names are far shorter


@router.post("/identities/github/link", response_model=GitHubLinkOut, responses=errors(403))
def link_github(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> GitHubLinkOut:
    """A one-time URL (good for ten minutes) that links the GitHub account you sign in
    with there to you, so your GitHub issues and comments can start tasks."""
    started = github_links.begin(session, principal, settings)
    return GitHubLinkOut(url=started.url, expires_at=started.expires_at)


def _outcome(title: str, message: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(render_external_auth(title, message), status_code=status)


@pages.get("/settings/external-auth", response_class=HTMLResponse)
def external_auth() -> HTMLResponse:
    return _outcome("", "")


@pages.get(github_links.START_PATH)
def start(settings: SettingsDep, state: str = "") -> Response:
    state = state[:MAX_PARAM]
    try:
        with session_scope(settings.resolved_database_url, write=False) as session:
            app, callback = github_links.authorize_target(session, settings, state)
    except TaskyardError as exc:
        return _outcome("Not linked", exc.message, exc.status)
    return RedirectResponse(authorize_url(app, state, callback), status_code=302)


@pages.get(github_links.CALLBACK_PATH)
async def callback(
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
                "Not linked",
                f"GitHub did not sign you in ({error or 'no code'}). {AGAIN}",
                400,
            )
        account = await account_for_code(app, code, github_links.callback_url(settings))
        linked = await asyncio.to_thread(_link, url, user.id, account)
    except TaskyardError as exc:
        return _outcome("Not linked", exc.message, exc.status)
    if linked.already:
        return _outcome(
            "Already linked",
            f"GitHub account {account.login} (ID {account.id}) was already linked to "
            f"taskyard user {linked.username}.",
        )
    return _outcome(
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
