"""The ASGI application: routes and error handling.

The app runs no engine of its own: ``taskyard serve`` enters a
:class:`~taskyard.runtime.Runtime` and hands the app its engine handle.
"""

from __future__ import annotations

import asyncio

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from taskyard import __version__
from taskyard.api import errors, openapi
from taskyard.api.deps import WRITE_SLOTS, get_engine, get_principal, limit_writers
from taskyard.api.headers import SecurityHeaders
from taskyard.api.limits import InputLimits
from taskyard.api.pages import ROUTERS as PAGES
from taskyard.api.routes import (
    audit,
    events,
    external_auth,
    forges,
    github,
    health,
    intake,
    notifications,
    organizations,
    schedules,
    tasks,
    teams,
    templates,
    users,
    webhooks,
    workflows,
)
from taskyard.config import Settings, get_settings
from taskyard.engine.client import Engine
from taskyard.services.event_watch import EventWatch, database_reader
from taskyard.web.render import STATIC


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app on ``engine``; without one, routes that need it answer 503."""
    settings = settings or get_settings()
    app = FastAPI(
        dependencies=[Depends(limit_writers)],
        title="taskyard",
        version=__version__,
        description="Run AI coding agents on units of work.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_slots = asyncio.Semaphore(WRITE_SLOTS)
    app.state.event_watch = EventWatch(database_reader(settings.resolved_database_url))
    errors.install(app)
    app.add_middleware(InputLimits, settings=settings)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, refusals too
    modules = (
        tasks,
        events,
        teams,
        workflows,
        users,
        external_auth,
        templates,
        organizations,
        forges,
        github,
        audit,
        health,
        webhooks,
        schedules,
        notifications,
        intake,
    )
    for module in modules:
        openapi.declare_errors(module.router, get_principal, get_engine)
        app.include_router(module.router)
    # HTML for people, not part of the API's description
    for router in PAGES:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    openapi.describe(app)
    return app
