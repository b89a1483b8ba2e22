"""The ASGI application: routes, error handling, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from taskyard import __version__
from taskyard.api import errors, openapi
from taskyard.api.deps import WRITE_SLOTS, get_engine, get_principal, limit_writers
from taskyard.api.limits import InputLimits
from taskyard.api.routes import (
    events,
    forges,
    health,
    organizations,
    pages,
    tasks,
    templates,
    users,
    workflows,
)
from taskyard.config import Settings, get_settings
from taskyard.engine.client import Engine
from taskyard.runtime import Runtime


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, runtime: bool = True
) -> FastAPI:
    """Build the app. With ``runtime`` it starts the database, Temporal and a worker itself."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not runtime:
            yield
            return
        async with Runtime(settings) as running:
            app.state.engine = running.engine
            app.state.runtime = running
            yield

    app = FastAPI(
        dependencies=[Depends(limit_writers)],
        title="taskyard",
        version=__version__,
        description="Run AI coding agents on units of work.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_slots = asyncio.Semaphore(WRITE_SLOTS)
    errors.install(app)
    app.add_middleware(InputLimits, settings=settings)
    for module in (tasks, events, workflows, users, templates, organizations, forges, health):
        openapi.declare_errors(module.router, get_principal, get_engine)
        app.include_router(module.router)
    app.include_router(pages.router)  # HTML for people, not part of the API's description
    openapi.describe(app)
    return app
