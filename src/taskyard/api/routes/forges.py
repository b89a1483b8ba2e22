"""Which forge the organization's repositories are on (see docs/forges.md).

Read with ``tasks:read``, changed with ``admin``; the rules live in
:mod:`taskyard.services.forge_settings`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.outputs import ForgeOut, ForgesOut, RepositoryForgeOut
from taskyard.model.forge import ForgeSite
from taskyard.model.inputs import Location
from taskyard.services import forge_settings

router = APIRouter(prefix="/api/v1/forges", tags=["forges"])

Segment = Annotated[str, Path(max_length=100)]


class ForgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=40, description="A forge kind, e.g. `github`.")
    url: Location = Field("", description="Web and git host; empty: the forge's default.")
    api_url: Location = Field("", description="REST API base; empty: the forge's default.")


def _out(site: ForgeSite) -> ForgeOut:
    return ForgeOut(kind=site.kind, url=site.url, api_url=site.api_url)


def _repository_out(repository: str, site: ForgeSite) -> RepositoryForgeOut:
    return RepositoryForgeOut(
        repository=repository, kind=site.kind, url=site.url, api_url=site.api_url
    )


@router.get("", response_model=ForgesOut)
def show_forges(session: SessionDep, principal: PrincipalDep) -> ForgesOut:
    configured = forge_settings.settings_of(session, principal)
    return ForgesOut(
        kinds=configured.kinds,
        default=_out(configured.default),
        repositories=[_repository_out(n, site) for n, site in configured.repositories.items()],
    )


@router.put("/default", response_model=ForgeOut)
def set_default(
    body: ForgeIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> ForgeOut:
    """Put the organization's repositories (those without their own) on this forge.

    Tasks created from now on use it; tasks already created keep theirs.
    """
    site = ForgeSite(body.kind, body.url, body.api_url)
    return _out(forge_settings.set_site(session, principal, settings, "", site))


@router.put("/repositories/{owner}/{repo}", response_model=RepositoryForgeOut)
def set_repository(
    owner: Segment,
    repo: Segment,
    body: ForgeIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> RepositoryForgeOut:
    """Put repository ``owner/repo`` on this forge, whatever the organization's default."""
    repository = f"{owner}/{repo}"
    site = ForgeSite(body.kind, body.url, body.api_url)
    site = forge_settings.set_site(session, principal, settings, repository, site)
    return _repository_out(repository, site)


@router.delete("/repositories/{owner}/{repo}", status_code=204)
def unset_repository(
    owner: Segment, repo: Segment, session: SessionDep, principal: PrincipalDep
) -> None:
    """Put repository ``owner/repo`` back on the organization's default forge."""
    forge_settings.remove_site(session, principal, f"{owner}/{repo}")
