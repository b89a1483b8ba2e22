"""Three failed runs in a row pause a schedule, in the database and in Temporal, and
its owner hears of it on their channel."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from taskyard.db.models import NotificationDelivery, Schedule
from taskyard.db.session import session_scope
from taskyard.engine.schedule_client import schedule_id
from taskyard.notify.webhook import new_secret
from tests.schedules.conftest import poll, runs, schedule_body
from tests.support.server import RunningServer


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP receiver on loopback that keeps the JSON bodies posted to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}/hook", received
    http.shutdown()
    http.server_close()


def add_webhook_channel(server: RunningServer, url: str) -> None:
    config = {"url": url, "secret": new_secret()}
    body = {"kind": "webhook", "name": "hook", "config": config}
    response = server.http.post("/api/v1/notifications/channels", json=body)
    assert response.status_code == 201, response.text


async def paused_in_temporal(address: str, uid: str) -> bool:
    client = await Client.connect(address)
    description = await client.get_schedule_handle(schedule_id(uid)).describe()
    return description.schedule.state.paused


def test_three_failed_runs_pause_the_schedule_and_tell_its_owner(
    server: RunningServer,
    failing: str,
    remote_repo: Path,
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = receiver
    add_webhook_channel(server, url)
    created = server.http.post(
        "/api/v1/schedules", json=schedule_body("flaky", remote_repo, failing)
    )
    assert created.status_code == 201, created.text

    shown = poll(
        lambda: (s := server.http.get("/api/v1/schedules/flaky").json())["paused"] and s,
        "the schedule to pause itself",
        timeout=90,
    )
    made = [r for r in shown["runs"] if r["outcome"] == "created"]
    assert len(made) == 3 and all(r["task_status"] == "failed" for r in made)
    assert "3 failed runs" in shown["paused_reason"]
    for run in made:
        assert run["task"] in shown["paused_reason"]

    with session_scope(server.settings.resolved_database_url, write=False) as session:
        uid = session.scalar(select(Schedule.uid).where(Schedule.name == "flaky"))
        owed = session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.event == "schedule.paused")
        ).all()
    assert uid is not None
    assert len(owed) == 1
    # Temporal is told right after the transaction that paused it commits.
    address = server.settings.temporal_address
    poll(lambda: asyncio.run(paused_in_temporal(address, uid)), "Temporal to pause it")

    notice = poll(
        lambda: [b for b in received if b.get("type") == "schedule.paused"], "the webhook"
    )[0]
    assert notice["data"]["schedule"] == "flaky"
    assert sorted(notice["data"]["failed_tasks"]) == sorted(r["task"] for r in made)

    # Paused: no more runs; resumed: it fires again.
    count = len(runs(server, "flaky"))
    resumed = server.http.post("/api/v1/schedules/flaky/resume")
    assert resumed.status_code == 200 and not resumed.json()["paused"]
    assert resumed.json()["paused_reason"] == ""
    assert not asyncio.run(paused_in_temporal(server.settings.temporal_address, uid))
    poll(lambda: len(runs(server, "flaky")) > count, "a run after resuming")
    # Paused again, and its tasks left to end, so the server stops between turns.
    assert server.http.post("/api/v1/schedules/flaky/pause").status_code == 200
    poll(
        lambda: all(r["task_status"] in (None, "failed") for r in runs(server, "flaky")),
        "the last tasks to end",
    )
