"""Which forge owners' repositories an organization may work on.

The forge's credentials (the GitHub token, the GitHub App's installations) are the whole
server's. Were any ``owner/name`` taken, one organization could have the server fetch
another's private repository into its agent's sandbox, push to it and comment on its
issues. So the installation admin grants each organization its owners (``acme`` of
``acme/shop``), and a repository of any other owner is refused wherever an organization
names one: a task, a GitHub trigger, a webhook's task. The first organization keeps every
owner (``*``), as a server with one organization needs; any other starts with none.
Repositories named by a local path are the operator's ``TASKYARD_LOCAL_REPOSITORY_ROOTS``'
business, not this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import OWNERS_LENGTH, Organization
from taskyard.model.errors import Forbidden, InvalidInput
from taskyard.services.repositories import local_path

EVERY = "*"
MAX_OWNERS = 200
# An owner as REPO_SLUG spells its first part (GitHub's logins are a subset).
OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def checked(owners: Sequence[str]) -> str:
    """``owners`` as stored: valid, lower-case (forges compare owners so), deduplicated."""
    if len(owners) > MAX_OWNERS:
        raise InvalidInput(f"At most {MAX_OWNERS} repository owners: use '*' for every owner.")
    found: set[str] = set()
    for owner in owners:
        owner = owner.strip()
        if owner != EVERY and not OWNER.fullmatch(owner):
            raise InvalidInput(
                f"'{owner[:100]}' is not a repository owner: write the first part of "
                "'owner/name' (acme for acme/shop), or '*' for every owner."
            )
        found.add(owner.lower())
    if EVERY in found:
        return EVERY
    stored = ",".join(sorted(found))
    if len(stored) > OWNERS_LENGTH:  # a database that checks lengths would answer a 500
        raise InvalidInput(
            f"The repository owners take {len(stored)} characters, more than {OWNERS_LENGTH}: "
            "list fewer, or '*' for every owner."
        )
    return stored


def listed(org: Organization) -> list[str]:
    return [owner for owner in org.repository_owners.split(",") if owner]


def require_owner(session: Session, org_id: int, repository: str) -> None:
    """Refuse (403) ``repository`` (validated: ``owner/name``, or a local path, which is
    the operator's roots' business) unless its owner is granted to the organization."""
    if said := refusal(session, org_id, repository):
        raise Forbidden(said)


def refusal(session: Session, org_id: int, repository: str) -> str:
    """Why the organization may not work on ``repository`` (``""``: it may): what
    :func:`require_owner` raises, for a caller that says it rather than fails."""
    if local_path(repository) is not None:
        return ""
    granted = session.scalar(
        select(Organization.repository_owners).where(Organization.id == org_id)
    )
    if may_name(granted or "", repository):
        return ""
    owner = repository.split("/", 1)[0].lower()
    return (
        f"This organization may not work on repositories of '{owner[:100]}': the server's "
        "forge credentials are shared, so the installation admin grants each organization "
        "its owners (`taskyard orgs set-owners`, or PATCH /api/v1/organizations/{slug} with "
        "repository_owners)."
    )


def may_name(granted: str, repository: str) -> bool:
    """Whether owners ``granted`` (as stored) cover ``repository`` (``owner/name``)."""
    owners = granted.split(",")
    return EVERY in owners or repository.split("/", 1)[0].lower() in owners
