"""Organizations of an installation, managed by the installation admin.

The installation admin is whoever holds a token with the ``installation:admin``
scope: the first start gives it to the first organization's ``admin`` user, and a
holder may grant it (to tokens of that organization's users) like any other scope.
Everything else is per organization: an organization's own admin cannot see or
create another organization.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Organization, User
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.services import teams, tokens, users
from taskyard.services.tokens import INSTALLATION_ADMIN, Principal


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    admin: User
    admin_token: str


def list_organizations(session: Session, principal: Principal) -> list[Organization]:
    principal.require(INSTALLATION_ADMIN)
    return list(session.scalars(select(Organization).order_by(Organization.id)))


def get_organization(session: Session, principal: Principal, slug: str) -> Organization:
    principal.require(INSTALLATION_ADMIN)
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(f"Organization '{slug}' not found.")
    return org


def create_organization(
    session: Session,
    principal: Principal,
    slug: str,
    name: str,
    *,
    admin_username: str,
    team_key: str,
) -> CreatedOrganization:
    """An organization with its first team and admin, and that admin's first token.

    The token is a child of the caller's: it is revoked with it (see ``tokens``).
    """
    principal.require(INSTALLATION_ADMIN)
    org = teams.create_organization(session, slug, name)
    teams.create_team(session, org.id, team_key, "Default team", "default")
    admin = users.create_user(session, org.id, admin_username, is_admin=True)
    _, value = tokens.create_token(
        session, admin, "first admin token", ["admin"], parent_id=principal.token_id
    )
    return CreatedOrganization(org, admin, value)


def rename_organization(
    session: Session, principal: Principal, slug: str, name: str
) -> Organization:
    org = get_organization(session, principal, slug)
    if not name.strip():
        raise InvalidInput("An organization's name must not be empty.")
    org.name = name.strip()
    return org


def member_count(session: Session, org: Organization) -> int:
    return session.scalar(select(func.count()).where(User.org_id == org.id)) or 0
