"""A fire makes its task once, however often its activity is retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from temporalio.client import Client

from taskyard.config import Settings
from taskyard.db.models import Schedule
from taskyard.db.session import session_scope
from taskyard.engine.client import Engine
from taskyard.engine.schedules import FireRequest, ScheduleActivities
from tests.schedules.conftest import runs, schedule_body
from tests.support.server import RunningServer


async def fire_twice(settings: Settings, request: FireRequest) -> list[str]:
    client = await Client.connect(settings.temporal_address)
    engine = Engine(client, settings, settings.task_queue)
    activities = ScheduleActivities(settings, engine, engine.schedules)
    return [await activities.fire(request), await activities.fire(request)]


def test_a_retried_fire_makes_one_task(
    server: RunningServer, waiting: str, remote_repo: Path
) -> None:
    body = schedule_body("once", remote_repo, waiting, cron="0 3 1 1 *")
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        schedule = session.scalars(select(Schedule).where(Schedule.name == "once")).one()
        request = FireRequest(schedule.id, schedule.uid, "2026-12-07T09:00:00+00:00")

    outcomes = asyncio.run(fire_twice(server.settings, request))

    assert outcomes == ["created TY-1", "created TY-1"]
    [run] = runs(server, "once")
    assert (run["fired_at"], run["task"]) == ("2026-12-07T09:00:00Z", "TY-1")
    assert [t["key"] for t in server.http.get("/api/v1/tasks").json()["items"]] == ["TY-1"]
    server.wait_for("TY-1", "waiting")
