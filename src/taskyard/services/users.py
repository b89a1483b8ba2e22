"""Users of an organization and their linked identities (e.g. a GitHub account).

``create_user`` and ``find_user`` serve the system (the first start, a new
organization, the engine); a request goes through the functions that take its
``Principal``.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import LinkedIdentity, User
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.services import audit
from taskyard.services.access import Principal, require, require_admin

USERNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")


def create_user(
    session: Session,
    org_id: int,
    username: str,
    *,
    name: str = "",
    email: str = "",
    is_admin: bool = False,
) -> User:
    if not USERNAME.match(username):
        raise InvalidInput(
            "Username must be 1-64 letters, digits, '.', '_' or '-', starting with a letter/digit."
        )
    if find_user(session, org_id, username) is not None:
        raise Conflict(f"User '{username}' already exists.")
    user = User(org_id=org_id, username=username, name=name, email=email, is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def add_user(
    session: Session, principal: Principal, username: str, *, name: str, email: str, admin: bool
) -> User:
    """A new user of the caller's organization; only an admin may make an admin."""
    require(principal, "users:write")
    if admin:
        require_admin(principal)
    user = create_user(session, principal.org_id, username, name=name, email=email, is_admin=admin)
    audit.record(session, principal, "user.created", username, {"admin": admin})
    return user


def find_user(session: Session, org_id: int, username: str) -> User | None:
    return session.scalar(select(User).where(User.org_id == org_id, User.username == username))


def _existing(session: Session, org_id: int, username: str) -> User:
    user = find_user(session, org_id, username)
    if user is None:
        raise NotFound(f"User '{username}' not found.")
    return user


def get_user(session: Session, principal: Principal, username: str) -> User:
    require(principal, "users:read")
    return _existing(session, principal.org_id, username)


def list_users(session: Session, principal: Principal) -> list[User]:
    require(principal, "users:read")
    return list(
        session.scalars(select(User).where(User.org_id == principal.org_id).order_by(User.id))
    )


def link_identity(
    session: Session,
    principal: Principal,
    username: str,
    provider: str,
    external_id: str,
    login: str,
) -> LinkedIdentity:
    """Link an account (one user per organization) to ``username``."""
    require(principal, "users:write")
    user = _existing(session, principal.org_id, username)
    identity = add_identity(session, user, provider, external_id, login)
    detail = {"provider": provider, "external_id": external_id, "login": login}
    audit.record(session, principal, "identity.linked", username, detail)
    return identity


def add_identity(
    session: Session, user: User, provider: str, external_id: str, login: str
) -> LinkedIdentity:
    """Link an account to ``user``; the caller decided they may, and audits it."""
    if provider not in {"github"}:
        raise InvalidInput("Only 'github' identities can be linked.")
    existing = session.scalar(
        select(LinkedIdentity).where(
            LinkedIdentity.org_id == user.org_id,
            LinkedIdentity.provider == provider,
            LinkedIdentity.external_id == external_id,
        )
    )
    if existing is not None:
        raise Conflict(f"{provider} account {external_id} is already linked to a user.")
    identity = LinkedIdentity(
        org_id=user.org_id,
        user_id=user.id,
        provider=provider,
        external_id=external_id,
        login=login,
    )
    session.add(identity)
    session.flush()
    return identity


def identities_of(session: Session, principal: Principal) -> list[LinkedIdentity]:
    """The accounts linked to the caller."""
    require(principal, "users:read")
    return list(
        session.scalars(
            select(LinkedIdentity)
            .where(LinkedIdentity.user_id == principal.user_id)
            .order_by(LinkedIdentity.id)
        )
    )


def find_identity(
    session: Session, principal: Principal, provider: str, external_id: str
) -> tuple[LinkedIdentity, User]:
    """The linked account ``external_id`` of ``provider`` and its user, in the caller's
    organization (what a GitHub Action asks to act for the person who triggered it)."""
    require(principal, "users:read")
    row = session.execute(
        select(LinkedIdentity, User)
        .join(User, User.id == LinkedIdentity.user_id)
        .where(
            LinkedIdentity.org_id == principal.org_id,
            LinkedIdentity.provider == provider,
            LinkedIdentity.external_id == external_id,
        )
    ).first()
    if row is None:
        raise NotFound(
            f"No taskyard user is linked to {provider} user ID {external_id}: an admin links "
            f"it with `taskyard users link <username> --{provider}-id {external_id}`."
        )
    return row[0], row[1]


def user_for_identity(
    session: Session, org_id: int, provider: str, external_id: str
) -> User | None:
    return session.scalar(
        select(User)
        .join(LinkedIdentity, LinkedIdentity.user_id == User.id)
        .where(
            LinkedIdentity.org_id == org_id,
            LinkedIdentity.provider == provider,
            LinkedIdentity.external_id == external_id,
        )
    )
