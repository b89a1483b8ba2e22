"""Users, their linked identities, and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import IdentityOut, TokenCreated, TokenOut, UserOut
from taskyard.db.models import ApiToken, LinkedIdentity, User
from taskyard.model.inputs import MAX_INT64, Digits, Label, Name
from taskyard.services import access, passwords, tokens, users

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
    scopes: list[Name] = Field(list(access.DEFAULT_SCOPES), max_length=len(access.SCOPES))
    user: Name | None = None


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Bounded, not cleaned: a password is taken exactly as typed.
    current_password: Annotated[str, Field(max_length=1024)]
    new_password: Annotated[str, Field(max_length=1024)]


TokenId = Annotated[int, Digits, Path(ge=1, le=MAX_INT64)]


def _user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        name=user.name,
        email=user.email,
        admin=user.is_admin,
        created_at=user.created_at,
    )


def _token_fields(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "created_at": token.created_at,
        "revoked": token.revoked_at is not None,
    }


def _identity_out(identity: LinkedIdentity, username: str) -> IdentityOut:
    return IdentityOut(
        user=username,
        provider=identity.provider,
        external_id=identity.external_id,
        login=identity.login,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, principal: PrincipalDep) -> list[UserOut]:
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
def create_user(body: UserIn, session: SessionDep, principal: PrincipalDep) -> UserOut:
    """Create a user of the caller's organization (``admin`` to make an admin)."""
    user = users.add_user(
        session, principal, body.username, name=body.name, email=body.email, admin=body.admin
    )
    return _user_out(user)


@router.put("/users/me/password", status_code=204, responses=errors(403))
def change_password(body: PasswordIn, session: SessionDep, principal: PrincipalDep) -> None:
    """Change your own dashboard password, giving the current one (needs ``tokens:write``).

    Your other browsers are signed out; API tokens keep working. A first password is
    set on the server: ``taskyard admin set-password``.
    """
    passwords.change_password(session, principal, body.current_password, body.new_password)


@router.get("/users/{username}", response_model=UserOut)
def show_user(username: str, session: SessionDep, principal: PrincipalDep) -> UserOut:
    return _user_out(users.get_user(session, principal, username))


@router.post(
    "/users/{username}/identities",
    status_code=201,
    response_model=IdentityOut,
    responses=errors(409),
)
def link_identity(
    username: str, body: IdentityIn, session: SessionDep, principal: PrincipalDep
) -> IdentityOut:
    """Link a GitHub account, so tasks from its issues and comments are created for this user.

    An account is linked to one user per organization.
    """
    identity = users.link_identity(
        session, principal, username, body.provider, body.external_id, body.login
    )
    return _identity_out(identity, username)


@router.get("/identities/{provider}/{external_id}", response_model=IdentityOut)
def show_identity(
    provider: Name, external_id: Name, session: SessionDep, principal: PrincipalDep
) -> IdentityOut:
    """The user a linked account belongs to (``github`` and the account's numeric id)."""
    identity, user = users.find_identity(session, principal, provider, external_id)
    return _identity_out(identity, user.username)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenOut]:
    return [TokenOut(**_token_fields(t)) for t in tokens.list_tokens(session, principal)]


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=links(201, "id", ("DELETE", "/api/v1/tokens/{token_id}", "token_id")),
)
def create_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> TokenCreated:
    """Create a token; its value is shown once. Scopes cannot exceed the caller's own.

    The new token is a child of the caller's: revoking the caller's revokes it too.
    """
    token, value, user = tokens.mint_token(session, principal, body.name, body.scopes, body.user)
    return TokenCreated(**_token_fields(token), token=value, user=user.username)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: TokenId, session: SessionDep, principal: PrincipalDep) -> None:
    """Revoke a token and every token created with it (needs ``tokens:write``)."""
    tokens.revoke_token(session, principal, token_id)
