"""Organizations of an installation, managed by the installation admin.

The installation admin is whoever holds a token with the ``installation:admin``
scope: the first start gives it to the first organization's ``admin`` user, and a
holder may grant it (to tokens of that organization's users) like any other scope.
Everything else is per organization: an organization's own admin cannot see or
create another organization.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Organization, User
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.services import audit, teams, tokens, users
from taskyard.services.access import INSTALLATION_ADMIN, Principal, require
from taskyard.services.repository_owners import checked, listed


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    admin: User
    admin_token: str


def list_organizations(session: Session, principal: Principal) -> list[Organization]:
    require(principal, INSTALLATION_ADMIN)
    return list(session.scalars(select(Organization).order_by(Organization.id)))


def get_organization(session: Session, principal: Principal, slug: str) -> Organization:
    require(principal, INSTALLATION_ADMIN)
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
    repository_owners: Sequence[str] = (),
) -> CreatedOrganization:
    """An organization with its first team and admin, and that admin's first token.

    The token is a child of the caller's: it is revoked with it (see ``tokens``).
    """
    require(principal, INSTALLATION_ADMIN)
    org = teams.create_organization(session, slug, name, checked(repository_owners))
    teams.create_team(session, org.id, team_key, "Default team", "default")
    admin = users.create_user(session, org.id, admin_username, is_admin=True)
    _, value = tokens.create_token(
        session, admin, "first admin token", ["admin"], parent_id=principal.token_id
    )
    detail = {"admin": admin.username, "repository_owners": listed(org)}
    audit.record(session, principal, "organization.created", org.slug, detail)
    return CreatedOrganization(org, admin, value)


def update_organization(
    session: Session,
    principal: Principal,
    slug: str,
    *,
    name: str | None = None,
    repository_owners: Sequence[str] | None = None,
) -> Organization:
    """Rename the organization, or grant it the forge owners whose repositories it may
    work on (all of them: ``repository_owners`` replaces the list)."""
    org = get_organization(session, principal, slug)
    if name is not None:
        if not name.strip():
            raise InvalidInput("An organization's name must not be empty.")
        org.name = name.strip()
        audit.record(session, principal, "organization.renamed", org.slug, {"name": org.name})
    if repository_owners is not None:
        org.repository_owners = checked(repository_owners)
        detail = {"repository_owners": listed(org)}
        audit.record(session, principal, "organization.owners_set", org.slug, detail)
    return org


def member_count(session: Session, org: Organization) -> int:
    return session.scalar(select(func.count()).where(User.org_id == org.id)) or 0
