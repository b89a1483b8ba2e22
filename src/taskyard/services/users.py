"""Users of an organization and their linked identities (e.g. a GitHub account)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import LinkedIdentity, User
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.services.tokens import Principal

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


def find_user(session: Session, org_id: int, username: str) -> User | None:
    return session.scalar(select(User).where(User.org_id == org_id, User.username == username))


def get_user(session: Session, principal: Principal, username: str) -> User:
    user = find_user(session, principal.org_id, username)
    if user is None:
        raise NotFound(f"User '{username}' not found.")
    return user


def list_users(session: Session, principal: Principal) -> list[User]:
    return list(
        session.scalars(select(User).where(User.org_id == principal.org_id).order_by(User.id))
    )


def link_identity(
    session: Session, user: User, provider: str, external_id: str, login: str
) -> LinkedIdentity:
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
