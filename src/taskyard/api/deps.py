"""Typed dependencies shared by the routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from taskyard.api.bridge import EngineBridge
from taskyard.api.openapi import bearer
from taskyard.config import Settings
from taskyard.db.session import get_sessionmaker, session_scope
from taskyard.model.errors import Unauthenticated
from taskyard.services.access import Principal
from taskyard.services.tokens import authenticate


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session; routes use it from a worker thread.

    Async on purpose: its commit then runs on the event loop instead of waiting
    for a free worker thread, which under load may all be queued behind the
    very write transaction this commit ends. Routes that are themselves async
    must do their database work in a thread, never on the loop.
    """
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


async def get_reader(request: Request) -> AsyncIterator[Session]:
    """A read-only session beside the request's own: for the answer of a write that has
    committed, which then holds no write lock while it is read and serialized (on
    SQLite, every other writer of the process waits for that lock)."""
    session = get_sessionmaker(request.app.state.settings.resolved_database_url, False)()
    try:
        yield session
    finally:
        session.close()


WRITE_SLOTS = 8


async def limit_writers(request: Request) -> AsyncIterator[None]:
    """Admit at most ``WRITE_SLOTS`` mutating requests into the thread pool at once.

    A writing request holds the database's write lock from its first query until
    its session commits, and between those it needs worker threads (the route,
    then response serialization). Were every worker thread taken by requests
    queued on that lock, the holder could never finish. Waiting here, on the
    event loop, keeps threads free for the request that holds the lock.
    """
    if request.method in READ_METHODS:
        yield
        return
    slots: asyncio.Semaphore = request.app.state.write_slots
    async with slots:
        yield


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": commit before the response goes out, so a client never reads
# stale data right after a write, and a failed commit is never reported as success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReaderDep = Annotated[Session, Depends(get_reader, scope="function")]


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer`` header, or ""."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def principal_of(request: Request, token: str) -> Principal:
    # Its own short read: the request's session may write, and must not hold
    # a write transaction from authentication onwards.
    with session_scope(request.app.state.settings.resolved_database_url, write=False) as session:
        return authenticate(session, token)


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
    return principal_of(request, token)


def get_engine(request: Request) -> EngineBridge:
    return EngineBridge(request.app.state.engine)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
EngineDep = Annotated[EngineBridge, Depends(get_engine)]
