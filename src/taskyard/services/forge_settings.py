"""Which forge each repository is on: configuration, decided in one place.

An organization has a default forge (GitHub at github.com unless set otherwise),
and any ``org/repo`` may have its own (a repository on a GitHub Enterprise
Server, say). A repository named by a local path is on the local forge: the
server's ``TASKYARD_LOCAL_REPOSITORY_ROOTS`` already said which paths may be
named, when the task was created. A task records its forge when it is created
and keeps it: a later change of settings moves new tasks, not running ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import ForgeSetting
from taskyard.forges.base import FORGES
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.forge import ForgeSite
from taskyard.services import audit
from taskyard.services.access import Principal, require, require_admin
from taskyard.services.repositories import REPO_SLUG, local_path
from taskyard.services.repository_owners import require_owner

LOCAL = "local"
DEFAULT = ForgeSite("github")
MAX_URL = 500


@dataclass(frozen=True)
class ForgeSettings:
    """An organization's default forge and its repositories' own, and every forge kind
    the server knows."""

    kinds: list[str]
    default: ForgeSite
    repositories: dict[str, ForgeSite]


def site_for(session: Session, org_id: int, repository: str) -> ForgeSite:
    """The forge ``repository`` (already validated) is on: the one decision, made only for
    a repository the organization may name (``""``: the organization's default forge)."""
    if local_path(repository) is not None:
        return ForgeSite(LOCAL)
    if repository:
        require_owner(session, org_id, repository)
    rows = session.scalars(
        select(ForgeSetting).where(
            ForgeSetting.org_id == org_id, ForgeSetting.repository.in_((repository, ""))
        )
    ).all()
    by_name = {row.repository: _site(row) for row in rows}
    return by_name.get(repository) or by_name.get("") or DEFAULT


def settings_of(session: Session, principal: Principal) -> ForgeSettings:
    require(principal, "tasks:read")
    rows = session.scalars(
        select(ForgeSetting)
        .where(ForgeSetting.org_id == principal.org_id)
        .order_by(ForgeSetting.repository)
    ).all()
    sites = {row.repository: _site(row) for row in rows}
    return ForgeSettings(FORGES.kinds(), sites.pop("", DEFAULT), sites)


def set_site(
    session: Session, principal: Principal, settings: Settings, repository: str, site: ForgeSite
) -> ForgeSite:
    """Put ``repository`` (``""``: the organization's default) on the forge at ``site``."""
    require_admin(principal)
    if repository and not REPO_SLUG.match(repository):
        raise InvalidInput(
            f"Repository '{repository[:100]}' must be 'org/repo': repositories named by a "
            "local path are always on the local forge."
        )
    site = _checked(site)
    FORGES.get(site.kind).check_site(site, settings)
    row = session.scalar(
        select(ForgeSetting).where(
            ForgeSetting.org_id == principal.org_id, ForgeSetting.repository == repository
        )
    )
    if row is None:
        row = ForgeSetting(org_id=principal.org_id, repository=repository)
        session.add(row)
    row.kind, row.url, row.api_url = site.kind, site.url, site.api_url
    session.flush()
    detail = {"kind": site.kind, "url": site.url, "api_url": site.api_url}
    audit.record(session, principal, "forge.set", repository or "(default)", detail)
    return site


def remove_site(session: Session, principal: Principal, repository: str) -> None:
    """Put ``repository`` back on the organization's default forge."""
    require_admin(principal)
    row = session.scalar(
        select(ForgeSetting).where(
            ForgeSetting.org_id == principal.org_id,
            ForgeSetting.repository == repository,
            ForgeSetting.repository != "",
        )
    )
    if row is None:
        raise NotFound(f"Repository '{repository[:100]}' has no forge of its own.")
    session.delete(row)
    audit.record(session, principal, "forge.removed", repository)


def _site(row: ForgeSetting) -> ForgeSite:
    return ForgeSite(row.kind, row.url, row.api_url)


def _checked(site: ForgeSite) -> ForgeSite:
    if site.kind == LOCAL:
        raise InvalidInput(
            "The local forge needs no setting: every repository named by a local path is on it."
        )
    if site.kind not in FORGES:
        raise InvalidInput(
            f"Unknown forge '{site.kind[:40]}'. Available: "
            f"{', '.join(k for k in FORGES.kinds() if k != LOCAL)}."
        )
    return ForgeSite(site.kind, _url(site.url, "url"), _url(site.api_url, "api_url"))


def _url(value: str, name: str) -> str:
    """An http(s) base URL without credentials, query or fragment; ``""`` keeps the default."""
    value = value.strip().rstrip("/")
    if not value:
        return ""
    if len(value) > MAX_URL:
        raise InvalidInput(f"'{name}' is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise InvalidInput(f"'{name}' is not a URL: {exc}.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"'{name}' must be an http(s) URL such as https://github.example.com.")
    if parts.username or parts.password:
        raise InvalidInput(
            f"'{name}' must not hold credentials: the forge's token comes from the server's "
            "settings, never from a URL."
        )
    if parts.query or parts.fragment:
        raise InvalidInput(f"'{name}' must be a base URL, with no query or fragment.")
    return value
