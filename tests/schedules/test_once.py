"""A fire makes its task once, however often its activity is retried."""

from __future__ import annotations

import asyncio
import shutil
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


async def fire(settings: Settings, *requests: FireRequest) -> list[str]:
    """Each request's outcome, as the fire activity gives it."""
    client = await Client.connect(settings.temporal_address)
    engine = Engine(client, settings, settings.task_queue)
    activities = ScheduleActivities(settings, engine, engine.schedules)
    return [await activities.fire(request) for request in requests]


def _request(server: RunningServer, name: str, fired_at: str) -> FireRequest:
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        schedule = session.scalars(select(Schedule).where(Schedule.name == name)).one()
        return FireRequest(schedule.id, schedule.uid, fired_at)


def test_a_retried_fire_makes_one_task(
    server: RunningServer, waiting: str, remote_repo: Path
) -> None:
    body = schedule_body("once", remote_repo, waiting, cron="0 3 1 1 *")
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201
    request = _request(server, "once", "2026-12-07T09:00:00+00:00")

    outcomes = asyncio.run(fire(server.settings, request, request))

    assert outcomes == ["created TY-1", "created TY-1"]
    [run] = runs(server, "once")
    assert (run["fired_at"], run["task"]) == ("2026-12-07T09:00:00Z", "TY-1")
    assert [t["key"] for t in server.http.get("/api/v1/tasks").json()["items"]] == ["TY-1"]
    server.wait_for("TY-1", "waiting")


def test_a_task_that_cannot_be_made_is_a_failed_run(
    server: RunningServer, remote_repo: Path
) -> None:
    body = schedule_body("gone", remote_repo, "", cron="0 3 1 1 *")
    del body["task"]["template"]
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201
    shutil.rmtree(remote_repo)  # the repository went away after the schedule was made
    times = [f"2026-12-0{day}T09:00:00+00:00" for day in (1, 2, 3)]
    requests = [_request(server, "gone", t) for t in times]

    assert asyncio.run(fire(server.settings, *requests)) == ["failed"] * 3

    shown = server.http.get("/api/v1/schedules/gone").json()
    assert [r["outcome"] for r in shown["runs"]] == ["failed"] * 3
    assert "could not make its task" in shown["runs"][0]["reason"]
    assert str(remote_repo) in shown["runs"][0]["reason"]
    assert shown["paused"] and "(no task)" in shown["paused_reason"]
    assert server.http.get("/api/v1/tasks").json()["items"] == []
