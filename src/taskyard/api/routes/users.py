"""Users, their linked identities, and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import IdentityOut, TokenCreated, TokenOut, UserOut
from taskyard.db.models import ApiToken, User
from taskyard.model.errors import Forbidden
from taskyard.model.inputs import MAX_INT64, Digits, Label, Name
from taskyard.services import tokens, users

router = APIRouter(prefix="/api/v1", tags=["users"])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Name
    name: Label = ""
    email: Label = ""
    admin: bool = False


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Name = "github"
    external_id: Name
    login: Name = ""


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    scopes: list[Name] = Field(list(tokens.DEFAULT_SCOPES), max_length=len(tokens.SCOPES))
    user: Name | None = None


TokenId = Annotated[int, Digits, Path(ge=1, le=MAX_INT64)]


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


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    principal.require("users:read")
    return [_user_out(u) for u in users.list_users(session, principal)]


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses={
        **errors(409),
        **links(
            201,
            "username",
            ("GET", "/api/v1/users/{username}", "username"),
            ("POST", "/api/v1/users/{username}/identities", "username"),
        ),
    },
)
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


@router.get("/users/{username}", response_model=UserOut)
def show_user(username: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    principal.require("users:read")
    return _user_out(users.get_user(session, principal, username))


@router.post(
    "/users/{username}/identities",
    status_code=201,
    response_model=IdentityOut,
    responses=errors(409),
)
def link_identity(
    username: str, body: IdentityIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Link a GitHub account, so tasks from its issues and comments are created for this user.

    An account is linked to one user per organization.
    """
    principal.require("users:write")
    user = users.get_user(session, principal, username)
    identity = users.link_identity(session, user, body.provider, body.external_id, body.login)
    return {
        "user": user.username,
        "provider": identity.provider,
        "external_id": identity.external_id,
        "login": identity.login,
    }


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [_token_out(t) for t in tokens.list_tokens(session, principal)]


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=links(201, "id", ("DELETE", "/api/v1/tokens/{token_id}", "token_id")),
)
def create_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a token; its value is shown once. Scopes cannot exceed the caller's own.

    The new token is a child of the caller's: revoking the caller's revokes it too.
    """
    principal.require("tokens:write")
    target = session.get(User, principal.user_id)
    if body.user and body.user != principal.username:
        principal.require("admin")
        target = users.get_user(session, principal, body.user)
    assert target is not None
    beyond = sorted(s for s in body.scopes if not principal.has(s))
    if beyond:
        raise Forbidden(f"You cannot grant scopes you do not hold: {', '.join(beyond)}.")
    token, value = tokens.create_token(
        session, target, body.name, body.scopes, parent_id=principal.token_id
    )
    return {**_token_out(token), "token": value, "user": target.username}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: TokenId, session: SessionDep, principal: PrincipalDep) -> None:
    """Revoke a token and every token created with it (needs ``tokens:write``)."""
    tokens.revoke_token(session, principal, token_id)
