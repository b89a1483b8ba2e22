"""What the settings pages show, worked out from the services' rows and the viewer."""

from __future__ import annotations

from collections.abc import Iterable

from taskyard.db.models import ApiToken, utcnow
from taskyard.services.access import ADMIN, SCOPES, Principal


def in_force(tokens: Iterable[ApiToken]) -> list[ApiToken]:
    """The tokens that still work: revoked ones and ended sign-ins are history."""
    now = utcnow()
    return [
        t for t in tokens if t.revoked_at is None and (t.expires_at is None or t.expires_at > now)
    ]


def grantable(principal: Principal) -> list[str]:
    """The scopes the viewer may put on a new token: those they hold themselves."""
    return [scope for scope in sorted(SCOPES) if principal.has(scope)]


def is_admin(principal: Principal) -> bool:
    return principal.has(ADMIN)
