"""Users, their linked identities, and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.db.models import ApiToken, User
from taskyard.errors import Forbidden
from taskyard.services import tokens, users

router = APIRouter(prefix="/api/v1", tags=["users"])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    name: str = ""
    email: str = ""
    admin: bool = False


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str = "github"
    external_id: str
    login: str = ""


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    scopes: list[str] = list(tokens.DEFAULT_SCOPES)
    user: str | None = None


def _user_out(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "admin": user.is_admin,
        "created_at": user.created_at,
    }


def _token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "created_at": token.created_at,
        "revoked": token.revoked_at is not None,
    }


@router.get("/users")
def list_users(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    principal.require("users:read")
    return [_user_out(u) for u in users.list_users(session, principal)]


@router.post("/users", status_code=201)
def create_user(body: UserIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    principal.require("users:write")
    if body.admin:
        principal.require("admin")
    user = users.create_user(
        session,
        principal.org_id,
        body.username,
        name=body.name,
        email=body.email,
        is_admin=body.admin,
    )
    return _user_out(user)


@router.get("/users/{username}")
def show_user(username: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    principal.require("users:read")
    return _user_out(users.get_user(session, principal, username))


@router.post("/users/{username}/identities", status_code=201)
def link_identity(
    username: str, body: IdentityIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Link a GitHub account, so tasks from its issues and comments are created for this user."""
    principal.require("users:write")
    user = users.get_user(session, principal, username)
    identity = users.link_identity(session, user, body.provider, body.external_id, body.login)
    return {
        "user": user.username,
        "provider": identity.provider,
        "external_id": identity.external_id,
        "login": identity.login,
    }


@router.get("/tokens")
def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [_token_out(t) for t in tokens.list_tokens(session, principal)]


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a token; its value is shown once. Scopes cannot exceed the caller's own."""
    target = session.get(User, principal.user_id)
    if body.user and body.user != principal.username:
        principal.require("admin")
        target = users.get_user(session, principal, body.user)
    assert target is not None
    beyond = sorted(s for s in body.scopes if not principal.has(s))
    if beyond:
        raise Forbidden(f"You cannot grant scopes you do not hold: {', '.join(beyond)}.")
    token, value = tokens.create_token(session, target, body.name, body.scopes)
    return {**_token_out(token), "token": value, "user": target.username}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, session: SessionDep, principal: PrincipalDep) -> None:
    tokens.revoke_token(session, principal, token_id)
