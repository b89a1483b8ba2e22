"""The access checks every service makes."""

from __future__ import annotations

import pytest

from taskyard.model.errors import Forbidden, NotFound
from taskyard.services.access import (
    ADMIN,
    INSTALLATION_ADMIN,
    SCOPES,
    Principal,
    require,
    require_admin,
    same_org,
)


def principal(*scopes: str, org_id: int = 1) -> Principal:
    return Principal(user_id=1, org_id=org_id, username="ada", scopes=frozenset(scopes))


def test_admin_holds_every_scope_of_its_organization_but_not_the_installation() -> None:
    admin = principal(ADMIN)
    require(admin, *(SCOPES - {INSTALLATION_ADMIN}))
    require_admin(admin)
    with pytest.raises(Forbidden, match="'installation:admin'"):
        require(admin, INSTALLATION_ADMIN)
    installer = principal(INSTALLATION_ADMIN)
    require(installer, INSTALLATION_ADMIN)
    with pytest.raises(Forbidden, match="'admin'"):
        require_admin(installer)


def test_every_scope_asked_for_is_needed_and_the_missing_one_is_named() -> None:
    reader = principal("tasks:read")
    require(reader, "tasks:read")
    with pytest.raises(Forbidden, match="'tasks:write'"):
        require(reader, "tasks:read", "tasks:write")


def test_another_organizations_resource_is_not_found() -> None:
    same_org(principal(org_id=7), 7, "Token 3 not found.")
    with pytest.raises(NotFound, match=r"^Token 3 not found\.$"):
        same_org(principal(ADMIN, INSTALLATION_ADMIN, org_id=7), 8, "Token 3 not found.")
