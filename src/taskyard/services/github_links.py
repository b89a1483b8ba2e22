"""People linking their own GitHub account, proving it through GitHub's OAuth web flow.

``begin`` gives a signed-in user a one-time URL (its ``state`` kept only as a hash, for
ten minutes); visiting it goes to GitHub, which comes back to the callback with that
``state`` and a code. ``take`` spends the state whatever happens next, so a URL works
once; ``link`` then ties the account GitHub named to the user who asked, in the user's
organization, and audits it. The self-link needs ``tasks:write``: a linked account lets
GitHub start tasks as the user, which that token can already do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, delete, select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import LinkedIdentity, OAuthState, User, utcnow
from taskyard.forges.github import DEFAULT_URL
from taskyard.forges.github_oauth import AGAIN, GitHubAccount, OAuthApp
from taskyard.model.errors import Conflict, Forbidden, InvalidInput
from taskyard.services import audit
from taskyard.services.access import Principal, require
from taskyard.services.forge_settings import site_for
from taskyard.services.users import add_identity

PROVIDER = "github"
STATE_TTL = dt.timedelta(minutes=10)
START_PATH = "/settings/external-auth/github/start"
CALLBACK_PATH = "/settings/external-auth/github/callback"


@dataclass(frozen=True)
class LinkStart:
    url: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Linked:
    username: str
    account: GitHubAccount
    already: bool  # it was linked to this user before


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def callback_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}{CALLBACK_PATH}"


def oauth_app(session: Session, settings: Settings, user: User) -> OAuthApp:
    """The OAuth App on the GitHub of ``user``'s organization (its default forge when that
    is a GitHub, else github.com)."""
    if not (settings.github_oauth_client_id and settings.github_oauth_client_secret):
        raise Forbidden(
            "This server lets no one link a GitHub account themselves: it has no GitHub "
            "OAuth App (TASKYARD_GITHUB_OAUTH_CLIENT_ID and _SECRET). Ask an admin to link "
            "it with `taskyard users link <username> --github-id <id>`."
        )
    site = site_for(session, user.org_id, "")
    github = site.kind == PROVIDER
    return OAuthApp(
        settings.github_oauth_client_id,
        settings.github_oauth_client_secret,
        (site.url if github else "") or DEFAULT_URL,
        (site.api_url if github else "") or settings.github_api_url,
    )


def begin(session: Session, principal: Principal, settings: Settings) -> LinkStart:
    """A one-time URL that links the GitHub account the caller signs in with to them."""
    require(principal, "tasks:write")
    user = session.get(User, principal.user_id)
    assert user is not None, "an authenticated principal is a user"
    oauth_app(session, settings, user)  # refuse now, not after the visit to GitHub
    session.execute(delete(OAuthState).where(OAuthState.expires_at <= utcnow()))
    state = secrets.token_urlsafe(32)
    expires = utcnow() + STATE_TTL
    session.add(
        OAuthState(state_hash=_hash(state), user_id=user.id, provider=PROVIDER, expires_at=expires)
    )
    url = f"{settings.public_url.rstrip('/')}{START_PATH}?state={state}"
    return LinkStart(url, expires)


UNKNOWN = f"This link is not known: it was used already, or it is not taskyard's. {AGAIN}"
EXPIRED = f"This link expired: it is good for ten minutes. {AGAIN}"


def _checked(row: Row[int, dt.datetime] | None) -> int:
    """The user a state was made for, if it is known and fresh."""
    if row is None:
        raise InvalidInput(UNKNOWN)
    user_id, expires_at = row
    if expires_at <= utcnow():
        raise InvalidInput(EXPIRED)
    return user_id


def _mine(state: str) -> list[ColumnElement[bool]]:
    return [
        OAuthState.state_hash == _hash(state),
        OAuthState.provider == PROVIDER,
    ]


def authorize_target(session: Session, settings: Settings, state: str) -> tuple[OAuthApp, str]:
    """The OAuth App a still-valid ``state`` signs in through, and the callback URL."""
    found = session.execute(
        select(OAuthState.user_id, OAuthState.expires_at).where(*_mine(state))
    ).first()
    user = session.get(User, _checked(found))
    assert user is not None  # states go with their user
    return oauth_app(session, settings, user), callback_url(settings)


def take(session: Session, settings: Settings, state: str) -> tuple[User, OAuthApp]:
    """Spend ``state``: the user it was made for, and the OAuth App to ask GitHub with.

    One statement finds and deletes it, so of two callbacks racing with one state only
    one gets it."""
    found = session.execute(
        delete(OAuthState).where(*_mine(state)).returning(OAuthState.user_id, OAuthState.expires_at)
    ).first()
    user = session.get(User, _checked(found))
    assert user is not None
    return user, oauth_app(session, settings, user)


def link(session: Session, user_id: int, account: GitHubAccount) -> Linked:
    """Tie ``account`` to the user, unless it is another user's in their organization."""
    user = session.get(User, user_id)
    assert user is not None
    held = session.scalar(
        select(LinkedIdentity).where(
            LinkedIdentity.org_id == user.org_id,
            LinkedIdentity.provider == PROVIDER,
            LinkedIdentity.external_id == str(account.id),
        )
    )
    if held is not None and held.user_id != user.id:
        raise Conflict(
            f"GitHub account {account.login} (ID {account.id}) is already linked to another "
            "taskyard user of this organization: nothing changed. An admin can tell whose, "
            "from the audit log; sign in to GitHub as your own account and start again."
        )
    if held is not None:
        held.login = account.login
        return Linked(user.username, account, already=True)
    add_identity(session, user, PROVIDER, str(account.id), account.login)
    principal = Principal(user.id, user.org_id, user.username, frozenset())
    detail = {
        "provider": PROVIDER,
        "external_id": str(account.id),
        "login": account.login,
        "via": "oauth",
    }
    audit.record(session, principal, "identity.linked", user.username, detail)
    return Linked(user.username, account, already=False)
