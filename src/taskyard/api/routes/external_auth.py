"""Linking one's own GitHub account: the API call that starts it.

The pages a browser goes through (``/settings/external-auth``, then GitHub, then the
callback) are the dashboard's: ``taskyard.api.pages.linked_accounts``.
"""

from __future__ import annotations

from fastapi import APIRouter

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors
from taskyard.api.outputs import GitHubLinkOut
from taskyard.services import github_links

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.post("/identities/github/link", response_model=GitHubLinkOut, responses=errors(403))
def link_github(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> GitHubLinkOut:
    """A one-time URL (good for ten minutes) that links the GitHub account you sign in
    with there to you, so your GitHub issues and comments can start tasks."""
    started = github_links.begin(session, principal, settings)
    return GitHubLinkOut(url=started.url, expires_at=started.expires_at)
