"""Schedules on real parts: the server (API, engine, worker) on the shared Temporal dev
server, and command agents that wait at the plan's approval or fail at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError

from taskyard.config import Settings
from taskyard.db.models import Schedule
from taskyard.db.session import session_scope
from taskyard.engine.schedule_client import schedule_id
from tests.support.server import RunningServer

# Every two seconds: Temporal reads a 7-field cron's first field as seconds.
EVERY_2S = "*/2 * * * * * *"
# The plan stage's agent says it planned; the task then waits for approval (open).
WAITING = "name: waits\nsandbox: none\nagent:\n  kind: command\n  command: echo planned\n"
FAILING = "name: fails\nsandbox: none\nagent:\n  kind: command\n  command: exit 3\n"
T = TypeVar("T")


def poll(probe: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    """``probe()``'s first truthy answer, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def add_template(server: RunningServer, text: str) -> None:
    response = server.http.post(
        "/api/v1/templates", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text


def schedule_body(
    name: str, repository: Path, template: str, cron: str = EVERY_2S, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "cron": cron,
        "task": {
            "title": f"Chore {name}",
            "description": "Update the dependencies",
            "repository": str(repository),
            "template": template,
        },
        **extra,
    }


def runs(server: RunningServer, name: str) -> list[dict[str, Any]]:
    response = server.http.get(f"/api/v1/schedules/{name}")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["runs"]
    return found


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(autouse=True)
def forget_schedules(settings: Settings) -> Iterator[None]:
    """Delete the test's schedules from the shared Temporal server afterwards, so they do
    not go on firing at a task queue no worker polls any more."""
    yield
    with session_scope(settings.resolved_database_url, write=False) as session:
        uids = list(session.scalars(select(Schedule.uid)))

    async def forget() -> None:
        client = await Client.connect(settings.temporal_address)
        for uid in uids:
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(schedule_id(uid)).delete()

    asyncio.run(forget())


@pytest.fixture
def waiting(server: RunningServer) -> str:
    add_template(server, WAITING)
    return "waits"


@pytest.fixture
def failing(server: RunningServer) -> str:
    add_template(server, FAILING)
    return "fails"
