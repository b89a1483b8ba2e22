"""Organizations, for the installation admin (a token with ``installation:admin``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import OrganizationCreated, OrganizationOut
from taskyard.db.models import Organization
from taskyard.model.inputs import Label, Name
from taskyard.services import organizations

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Name
    name: Label = ""
    admin: Name = Field("admin", description="Username of the organization's first admin.")
    team: Name = Field("TY", description="Key of the organization's first team.")


class RenameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Label = Field(min_length=1)


def _out(session: SessionDep, org: Organization) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "users": organizations.member_count(session, org),
        "created_at": org.created_at,
    }


@router.get("", response_model=list[OrganizationOut])
def list_organizations(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
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
) -> dict[str, Any]:
    """Create an organization, its first team and admin; the admin's token is shown once.

    That token is a child of the caller's, revoked with it.
    """
    created = organizations.create_organization(
        session, principal, body.slug, body.name, admin_username=body.admin, team_key=body.team
    )
    return {
        "organization": _out(session, created.organization),
        "admin": created.admin.username,
        "team": body.team.upper(),
        "token": created.admin_token,
    }


@router.get("/{slug}", response_model=OrganizationOut)
def show_organization(slug: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    return _out(session, organizations.get_organization(session, principal, slug))


@router.patch("/{slug}", response_model=OrganizationOut)
def rename_organization(
    slug: str, body: RenameIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    org = organizations.rename_organization(session, principal, slug, body.name)
    return _out(session, org)
