"""First start: an organization, a team, an admin user and the first admin token."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import Organization
from taskyard.services import teams, tokens, users
from taskyard.services.access import INSTALLATION_ADMIN
from taskyard.services.repository_owners import EVERY


@dataclass(frozen=True)
class Bootstrap:
    created: bool
    admin_token: str


def ensure_bootstrapped(session: Session, admin_token: str = "") -> Bootstrap:
    """Create the first organization, team ``TY``, user ``admin`` and its token, once.

    That token is the installation admin's: it alone can create more organizations.
    """
    if session.scalar(select(Organization).limit(1)) is not None:
        return Bootstrap(created=False, admin_token="")
    # The first organization keeps every forge owner: a one-organization server needs no grant.
    org = teams.create_organization(session, "default", "Default organization", EVERY)
    teams.create_team(session, org.id, "TY", "Default team", "default")
    admin = users.create_user(session, org.id, "admin", name="Administrator", is_admin=True)
    _, value = tokens.create_token(
        session, admin, "first admin token", ["admin", INSTALLATION_ADMIN], value=admin_token
    )
    return Bootstrap(created=True, admin_token=value)
