"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from taskyard.api.bridge import EngineBridge
from taskyard.config import Settings
from taskyard.db.session import get_sessionmaker
from taskyard.errors import Unauthenticated
from taskyard.services.tokens import Principal, authenticate


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    url = request.app.state.settings.resolved_database_url
    session = get_sessionmaker(url, request.method not in READ_METHODS)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
    return authenticate(session, token.strip())


def get_engine(request: Request) -> EngineBridge:
    return EngineBridge(request.app.state.engine)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
EngineDep = Annotated[EngineBridge, Depends(get_engine)]
