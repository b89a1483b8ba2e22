"""Setting a password: people change their own, an admin on the server sets anyone's.

A person changes their own only by giving the current one: a session or token alone
must not be enough, since a password signs in with every scope its user holds (an
admin's, for an admin), more than a narrow token was given. So a user without a
password gets their first one from an admin on the server (``taskyard admin
set-password``), who can already read the database.

A new password signs out the user's other browsers (a password changed because it
leaked should shut out whoever used it); API tokens stay, they are revoked apart.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskyard.db.models import ApiToken, Organization, User, utcnow
from taskyard.model.errors import Forbidden, InvalidInput, NotFound
from taskyard.services import audit, web_sessions
from taskyard.services.access import Principal, require

# Changing a password is managing one's own credentials, as tokens are.
SCOPE = "tokens:write"
NO_PASSWORD = (
    "You have no password yet, so there is none to change: an admin sets the first one "
    "on the server with `taskyard admin set-password {username}`."
)


def change_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """Replace the caller's password, given the current one (checked like a sign-in)."""
    require(principal, SCOPE)
    user = session.get(User, principal.user_id)
    assert user is not None  # the principal was just read with its user
    if not user.password_hash:
        raise InvalidInput(NO_PASSWORD.format(username=user.username))
    web_sessions.throttle.check(user.username)
    if len(current) > web_sessions.MAX_PASSWORD or not web_sessions.hasher.verify(
        current, user.password_hash
    ):
        web_sessions.throttle.failed(user.username)
        raise Forbidden("The current password is not right: nothing was changed.")
    web_sessions.set_password(session, user, new)
    _sign_out_browsers(session, user, keep=principal.token_id)
    audit.record(session, principal, "user.password_set", user.username, {"by": "self"})


def set_password_on_server(
    session: Session, username: str, organization: str, password: str, actor: str
) -> User:
    """Set ``username``'s password, for an admin at the server's command line.

    ``organization`` (a slug) is needed when the username exists in several; ``actor``
    names who ran the command, for the audit log.
    """
    query = select(User, Organization).join(Organization, Organization.id == User.org_id)
    query = query.where(User.username == username)
    if organization:
        query = query.where(Organization.slug == organization)
    found = session.execute(query.order_by(Organization.slug).limit(20)).all()
    where = f" in organization {organization!r}" if organization else ""
    if not found:
        raise NotFound(f"No user {username!r}{where}.")
    if len(found) > 1:
        slugs = ", ".join(org.slug for _, org in found)
        raise InvalidInput(
            f"Several organizations have a user {username!r} ({slugs}): name one with --org."
        )
    user = found[0][0]
    web_sessions.set_password(session, user, password)
    _sign_out_browsers(session, user, keep=None)
    principal = Principal(user.id, user.org_id, actor, frozenset())
    audit.record(session, principal, "user.password_set", user.username, {"by": "server"})
    return user


def _sign_out_browsers(session: Session, user: User, keep: int | None) -> None:
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.expires_at.is_not(None),
            ApiToken.revoked_at.is_(None),
            ApiToken.id != (keep or 0),
        )
        .values(revoked_at=utcnow())
    )
