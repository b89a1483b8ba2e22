"""API tokens: generated once, stored as a SHA-256 hash, carrying scopes.

A token created by a token is its child: revoking a token revokes its children
and theirs, so whatever a leaked token minted dies with it.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import ApiToken, User, utcnow
from taskyard.model.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from taskyard.services import audit, users
from taskyard.services.access import ADMIN, SCOPES, Principal, require, require_admin, same_org

TOKEN_PREFIX = "ty_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def mint_token(
    session: Session, principal: Principal, name: str, scopes: list[str], username: str | None
) -> tuple[ApiToken, str, User]:
    """A token for the caller, or (an admin) for ``username``, as a child of the caller's.

    Its scopes cannot exceed the caller's own. Returns the row, the only copy of its
    secret, and whose it is.
    """
    require(principal, "tokens:write")
    if username and username != principal.username:
        require_admin(principal)
        target = users.get_user(session, principal, username)
    else:
        found = session.get(User, principal.user_id)
        assert found is not None  # the principal was just read with its user
        target = found
    beyond = sorted(s for s in scopes if not principal.has(s))
    if beyond:
        raise Forbidden(f"You cannot grant scopes you do not hold: {', '.join(beyond)}.")
    token, value = create_token(session, target, name, scopes, parent_id=principal.token_id)
    detail = {"id": token.id, "user": target.username, "scopes": sorted(scopes)}
    audit.record(session, principal, "token.created", name, detail)
    return token, value, target


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
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise Unauthenticated("This sign-in has expired: sign in again.")
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        username=user.username,
        scopes=frozenset(token.scopes),
        token_id=token.id,
    )


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    require(principal, "tokens:read")
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
        )
    )


def organization_tokens(session: Session, principal: Principal) -> list[tuple[ApiToken, User]]:
    """The organization's tokens still in force, each with whose it is (admins only)."""
    require_admin(principal)
    now = utcnow()
    rows = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            User.org_id == principal.org_id,
            ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
        )
        .order_by(User.username, ApiToken.id)
    )
    return [(token, user) for token, user in rows]


def revoke_token(session: Session, principal: Principal, token_id: int) -> None:
    """Revoke one of the caller's tokens, and every token it minted, at any depth.

    An admin may revoke any token of the organization.
    """
    require(principal, "tokens:write")
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id)
    ).first()
    missing = f"Token {token_id} not found."
    if row is None:
        raise NotFound(missing)
    token, owner = row
    same_org(principal, owner.org_id, missing)
    if owner.id != principal.user_id and not principal.has(ADMIN):
        raise NotFound(missing)
    now = utcnow()
    token.revoked_at = now
    audit.record(session, principal, "token.revoked", token.name, {"id": token.id})
    parents = [token.id]
    while parents:
        children = list(session.scalars(select(ApiToken).where(ApiToken.parent_id.in_(parents))))
        for child in children:
            child.revoked_at = child.revoked_at or now
        parents = [child.id for child in children]
