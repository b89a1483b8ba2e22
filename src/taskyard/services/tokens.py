"""API tokens: generated once, stored as a SHA-256 hash, carrying scopes.

``admin`` holds every scope of its organization; ``installation:admin`` is apart
from it (an organization's admin does not hold it): it manages the organizations
themselves. A token created by a token is its child: revoking a token revokes its
children and theirs, so whatever a leaked token minted dies with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import ApiToken, User, utcnow
from taskyard.model.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

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
        "admin",
        "installation:admin",
    }
)
INSTALLATION_ADMIN = "installation:admin"
DEFAULT_SCOPES = ["tasks:read", "tasks:write", "users:read", "templates:read"]
TOKEN_PREFIX = "ty_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        return "admin" in self.scopes or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            raise Forbidden(f"This token lacks the '{scope}' scope.")


def create_token(
    session: Session,
    user: User,
    name: str,
    scopes: list[str],
    *,
    value: str = "",
    parent_id: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the only copy of its secret.

    ``parent_id``: the token that asked for this one, which takes it along when revoked.
    """
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(sorted(SCOPES))}."
        )
    if not name.strip():
        raise InvalidInput("Token name must not be empty.")
    value = value or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=value[:10],
        token_hash=hash_token(value),
        scopes=sorted(set(scopes)),
        parent_id=parent_id,
    )
    session.add(token)
    session.flush()
    return token, value


def authenticate(session: Session, value: str) -> Principal:
    """Resolve a bearer token into a principal, or raise ``Unauthenticated``."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(value), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        raise Unauthenticated("Invalid or revoked API token.")
    token, user = row
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        username=user.username,
        scopes=frozenset(token.scopes),
        token_id=token.id,
    )


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    principal.require("tokens:read")
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, principal: Principal, token_id: int) -> None:
    """Revoke one of the caller's tokens, and every token it minted, at any depth.

    An admin may revoke any token of the organization.
    """
    principal.require("tokens:write")
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id)
    ).first()
    if row is None or row[1].org_id != principal.org_id:
        raise NotFound(f"Token {token_id} not found.")
    token, owner = row
    if owner.id != principal.user_id and not principal.has("admin"):
        raise NotFound(f"Token {token_id} not found.")
    now = utcnow()
    token.revoked_at = now
    parents = [token.id]
    while parents:
        children = list(session.scalars(select(ApiToken).where(ApiToken.parent_id.in_(parents))))
        for child in children:
            child.revoked_at = child.revoked_at or now
        parents = [child.id for child in children]
