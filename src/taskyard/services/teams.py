"""Organizations and teams (a team numbers its tasks under its key prefix).

``create_organization``, ``create_team`` and ``resolve_team`` serve the system (the
first start, a new organization) and other services that checked their caller;
a request goes through the functions that take its ``Principal``.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taskyard.db.models import Organization, Team
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.workflow import DEFAULT_WORKFLOW
from taskyard.services import audit
from taskyard.services.access import Principal, require, require_admin

TEAM_KEY = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def create_organization(
    session: Session, slug: str, name: str, repository_owners: str = ""
) -> Organization:
    if not SLUG.match(slug):
        raise InvalidInput("Organization slug must be lowercase letters, digits and '-'.")
    if session.scalar(select(Organization).where(Organization.slug == slug)) is not None:
        raise Conflict(f"Organization '{slug}' already exists.")
    org = Organization(slug=slug, name=name or slug, repository_owners=repository_owners)
    session.add(org)
    session.flush()
    return org


def create_team(session: Session, org_id: int, key: str, name: str, slug: str = "") -> Team:
    """Create a team and give it the default workflow."""
    from taskyard.services.workflows import store_workflow

    key = key.upper()
    slug = slug or key.lower()
    if not TEAM_KEY.match(key):
        raise InvalidInput("Team key must be 1-10 letters/digits starting with a letter (e.g. TY).")
    if not SLUG.match(slug):
        raise InvalidInput("Team slug must be lowercase letters, digits and '-'.")
    clash = session.scalar(
        select(Team).where(Team.org_id == org_id, or_(Team.key == key, Team.slug == slug))
    )
    if clash is not None:
        raise Conflict(f"A team with key '{key}' or slug '{slug}' already exists.")
    team = Team(org_id=org_id, key=key, slug=slug, name=name or key, next_number=0)
    session.add(team)
    session.flush()
    store_workflow(session, team, DEFAULT_WORKFLOW, make_default=True)
    return team


def add_team(session: Session, principal: Principal, key: str, name: str, slug: str) -> Team:
    """A new team of the caller's organization (admins only)."""
    require_admin(principal)
    team = create_team(session, principal.org_id, key, name, slug)
    audit.record(session, principal, "team.created", team.key)
    return team


def list_teams(session: Session, principal: Principal) -> list[Team]:
    require(principal, "tasks:read")
    mine = Team.org_id == principal.org_id
    return list(session.scalars(select(Team).where(mine).order_by(Team.id)))


def get_team(session: Session, principal: Principal, ref: str) -> Team:
    """A team of the caller's organization by key or slug."""
    require(principal, "tasks:read")
    return resolve_team(session, principal.org_id, ref)


def resolve_team(session: Session, org_id: int, ref: str | None) -> Team:
    """A team by key (``TY``) or slug (``web``); the organization's first team when absent."""
    query = select(Team).where(Team.org_id == org_id)
    if ref:
        query = query.where(or_(Team.key == ref.upper(), Team.slug == ref.lower()))
    team = session.scalar(query.order_by(Team.id).limit(1))
    if team is None:
        raise NotFound(f"Team '{ref}' not found." if ref else "This organization has no team yet.")
    return team
