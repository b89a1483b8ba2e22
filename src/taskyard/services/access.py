"""Who is calling, and what they may do: the checks every service makes, in one place.

A service that acts on a resource for someone takes their ``Principal`` and asks
here before it reads or changes anything, so no route decides access and a
service cannot be reached without one. The scope is checked first, then the
resource: a missing scope answers 403 even for a resource that does not exist.
Another organization's resources answer 404, as if absent, so a token cannot
learn what another organization holds.

``admin`` holds every scope of its organization; ``installation:admin`` is apart
from it (an organization's admin does not hold it): it manages the organizations
themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskyard.model.errors import Forbidden, NotFound

ADMIN = "admin"
INSTALLATION_ADMIN = "installation:admin"
SCOPES = frozenset(
    {
        "tasks:read",
        "tasks:write",
        "tasks:create-for-others",
        "users:read",
        "users:write",
        "templates:read",
        "templates:write",
        "workflows:write",
        "secrets:write",
        "tokens:read",
        "tokens:write",
        ADMIN,
        INSTALLATION_ADMIN,
    }
)
DEFAULT_SCOPES = ["tasks:read", "tasks:write", "users:read", "templates:read"]
# What a person who is not an admin holds when signed in with a password: their own
# work, and their own tokens.
PERSON_SCOPES = frozenset({*DEFAULT_SCOPES, "tokens:read", "tokens:write"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user behind a token and what the token may do."""

    user_id: int
    org_id: int
    username: str
    scopes: frozenset[str]
    token_id: int | None = None

    def has(self, scope: str) -> bool:
        if scope == INSTALLATION_ADMIN:
            return scope in self.scopes
        return ADMIN in self.scopes or scope in self.scopes


def require(principal: Principal, *scopes: str) -> None:
    """Refuse (403, naming it) unless ``principal`` holds every one of ``scopes``."""
    for scope in scopes:
        if not principal.has(scope):
            raise Forbidden(f"This token lacks the '{scope}' scope.")


def require_admin(principal: Principal) -> None:
    """Refuse unless ``principal`` is an admin of its organization."""
    require(principal, ADMIN)


def same_org(principal: Principal, org_id: int, missing: str) -> None:
    """Answer 404 with ``missing`` for a resource of another organization."""
    if org_id != principal.org_id:
        raise NotFound(missing)
