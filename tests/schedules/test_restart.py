"""Temporal keeps a schedule: it fires again after the server restarts, and a schedule
missing from Temporal (a fresh Temporal, a restored database) is put back at startup."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import select
from temporalio.client import Client

from taskyard.config import Settings
from taskyard.db.models import Schedule
from taskyard.db.session import session_scope
from taskyard.engine.schedule_client import schedule_id
from tests.conftest import ADMIN_TOKEN
from tests.schedules.conftest import WAITING, add_template, poll, runs, schedule_body, when
from tests.support.server import start_server

# Fires each second: the first run's task waits for approval, each later fire is
# recorded as skipped for it, so every fire shows in the history.
EVERY_SECOND = "* * * * * * *"


async def delete_in_temporal(address: str, uid: str) -> None:
    client = await Client.connect(address)
    await client.get_schedule_handle(schedule_id(uid)).delete()


async def paused_in_temporal(address: str, uid: str) -> bool:
    client = await Client.connect(address)
    description = await client.get_schedule_handle(schedule_id(uid)).describe()
    return description.schedule.state.paused


def test_a_schedule_fires_again_after_a_restart(settings: Settings, remote_repo: Path) -> None:
    with start_server(settings, ADMIN_TOKEN) as server:
        add_template(server, WAITING)
        body = schedule_body("nightly", remote_repo, "waits", cron="0 3 * * *")
        assert server.http.post("/api/v1/schedules", json=body).status_code == 201
        change = {"cron": EVERY_SECOND, "time_zone": "Europe/Paris"}
        assert server.http.patch("/api/v1/schedules/nightly", json=change).status_code == 200
        first = poll(lambda: [r for r in runs(server, "nightly") if r["task"]], "a task")
        # Stopped while its task waits for a person, not in the middle of a turn.
        server.wait_for(first[0]["task"], "waiting")
    stopped = dt.datetime.now(dt.UTC)

    with start_server(settings, ADMIN_TOKEN) as server:
        poll(
            lambda: [r for r in runs(server, "nightly") if when(r["fired_at"]) > stopped],
            "a run after the restart",
        )
        assert server.http.post("/api/v1/schedules/nightly/pause").status_code == 200

    # Temporal loses the schedule while the server is down: the next start puts it back.
    with session_scope(settings.resolved_database_url, write=False) as session:
        uid = session.scalar(select(Schedule.uid).where(Schedule.name == "nightly"))
    assert uid is not None
    asyncio.run(delete_in_temporal(settings.temporal_address, uid))
    with start_server(settings, ADMIN_TOKEN) as server:
        # Back as the database has it (paused) before anyone touches it.
        assert asyncio.run(paused_in_temporal(settings.temporal_address, uid))
        assert server.http.post("/api/v1/schedules/nightly/resume").status_code == 200
        resumed = dt.datetime.now(dt.UTC)
        poll(
            lambda: [r for r in runs(server, "nightly") if when(r["fired_at"]) > resumed],
            "a run of the schedule put back",
        )
