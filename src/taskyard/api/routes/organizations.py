"""Organizations, for the installation admin (a token with ``installation:admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import OrganizationCreated, OrganizationOut
from taskyard.db.models import Organization
from taskyard.model.inputs import Label, Name
from taskyard.services import organizations
from taskyard.services.repository_owners import MAX_OWNERS, listed

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])

Owners = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    Field(
        max_length=MAX_OWNERS,
        description="Forge owners (`acme` of `acme/shop`) whose repositories the "
        "organization may work on, `*` for every owner: the server's forge credentials "
        "are shared, so an organization names no repository of an owner not listed.",
    ),
]


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Name
    name: Label = ""
    admin: Name = Field("admin", description="Username of the organization's first admin.")
    team: Name = Field("TY", description="Key of the organization's first team.")
    repository_owners: Owners = []


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Label, Field(min_length=1)] | None = None
    repository_owners: Owners | None = None


def _out(session: SessionDep, org: Organization) -> OrganizationOut:
    return OrganizationOut(
        slug=org.slug,
        name=org.name,
        users=organizations.member_count(session, org),
        created_at=org.created_at,
        repository_owners=listed(org),
    )


@router.get("", response_model=list[OrganizationOut])
def list_organizations(session: SessionDep, principal: PrincipalDep) -> list[OrganizationOut]:
    return [_out(session, o) for o in organizations.list_organizations(session, principal)]


@router.post(
    "",
    status_code=201,
    response_model=OrganizationCreated,
    responses={
        **errors(409),
        **links(
            201,
            "organization/slug",
            ("GET", "/api/v1/organizations/{slug}", "slug"),
            ("PATCH", "/api/v1/organizations/{slug}", "slug"),
        ),
    },
)
def create_organization(
    body: OrganizationIn, session: SessionDep, principal: PrincipalDep
) -> OrganizationCreated:
    """Create an organization, its first team and admin; the admin's token is shown once.

    That token is a child of the caller's, revoked with it.
    """
    created = organizations.create_organization(
        session,
        principal,
        body.slug,
        body.name,
        admin_username=body.admin,
        team_key=body.team,
        repository_owners=body.repository_owners,
    )
    return OrganizationCreated(
        organization=_out(session, created.organization),
        admin=created.admin.username,
        team=body.team.upper(),
        token=created.admin_token,
    )


@router.get("/{slug}", response_model=OrganizationOut)
def show_organization(slug: str, session: SessionDep, principal: PrincipalDep) -> OrganizationOut:
    return _out(session, organizations.get_organization(session, principal, slug))


@router.patch("/{slug}", response_model=OrganizationOut)
def update_organization(
    slug: str, body: UpdateIn, session: SessionDep, principal: PrincipalDep
) -> OrganizationOut:
    """Rename the organization, or replace the forge owners whose repositories it may
    work on."""
    org = organizations.update_organization(
        session, principal, slug, name=body.name, repository_owners=body.repository_owners
    )
    return _out(session, org)
