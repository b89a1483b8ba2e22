"""The schedules API: what it refuses (and why), who sees what, and run now / delete."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError

from taskyard.db.models import Schedule
from taskyard.db.session import session_scope
from taskyard.engine.schedule_client import schedule_id
from taskyard.services import teams, tokens, users
from tests.api.conftest import token_with
from tests.schedules.conftest import poll, runs, schedule_body
from tests.support.server import RunningServer

YEARLY = "0 3 1 1 *"  # far off: only "run now" fires it in a test


@pytest.mark.parametrize(
    ("cron", "time_zone", "said"),
    [
        ("", "UTC", "empty"),
        ("* * *", "UTC", "has 3 fields"),
        ("61 * * * *", "UTC", "minute field: 61 is out of range 0-59"),
        ("0 25 * * *", "UTC", "hour field: 25 is out of range 0-23"),
        ("0 9 * * FUNDAY", "UTC", "day-of-week field: 'FUNDAY' is not a number"),
        ("0 9 * * 5-1", "UTC", "runs backwards"),
        ("*/0 * * * *", "UTC", "step 0 is out of range"),
        ("@fortnightly", "UTC", "Unknown cron shorthand"),
        ("0 0 1 1 * 1971", "UTC", "year field: 1971 is out of range 2000-2100"),
        ("9" * 150 + " * * * *", "UTC", "minute field"),
        ("0 9 * * *", "localtime\u0000", "NUL"),
        ("0 9 * * *", "Mars/Olympus", "Unknown time zone 'Mars/Olympus'"),
        ("0 9 * * *", "../etc/passwd", "Unknown time zone"),
        ("0 9 * * *", "", "IANA name"),
    ],
)
def test_a_bad_cron_or_time_zone_is_refused_naming_it(
    server: RunningServer, remote_repo: Path, cron: str, time_zone: str, said: str
) -> None:
    body = schedule_body("bad", remote_repo, "", cron=cron, time_zone=time_zone)
    del body["task"]["template"]
    response = server.http.post("/api/v1/schedules", json=body)
    assert response.status_code == 400, response.text
    assert said in response.json()["error"]["message"]
    assert server.http.get("/api/v1/schedules").json() == []


def test_a_task_every_run_would_fail_on_is_refused(
    server: RunningServer, remote_repo: Path
) -> None:
    body = schedule_body("bad", remote_repo, "no-such-template", cron=YEARLY)
    assert server.http.post("/api/v1/schedules", json=body).status_code == 404
    body = schedule_body("bad", remote_repo, "", cron=YEARLY)
    body["task"] |= {"template": None, "repository": "/not/under/a/root"}
    assert server.http.post("/api/v1/schedules", json=body).status_code == 400
    body["task"] |= {"repository": str(remote_repo), "agent": "x"}
    assert server.http.post("/api/v1/schedules", json=body).status_code == 400
    del body["task"]["agent"]
    named = server.http.post("/api/v1/schedules", json=body | {"name": "a/b"})
    assert named.status_code == 400 and "Schedule name 'a/b'" in named.text
    assert server.http.get("/api/v1/schedules").json() == []


def _bob(server: RunningServer) -> httpx.Client:
    created = server.http.post("/api/v1/users", json={"username": "bob"})
    assert created.status_code == 201, created.text
    token = token_with(server.http, "tasks:read", "tasks:write", user="bob")
    return httpx.Client(
        timeout=30, base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    )


def _rival(server: RunningServer) -> httpx.Client:
    with session_scope(server.settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival Inc", "*")
        teams.create_team(session, org.id, "RV", "Rival team")
        user = users.create_user(session, org.id, "eve", is_admin=True)
        _, token = tokens.create_token(session, user, "eve", ["admin"])
    return httpx.Client(
        timeout=30, base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    )


def test_people_see_their_own_admins_their_organizations(
    server: RunningServer, remote_repo: Path
) -> None:
    body = schedule_body("admins", remote_repo, "", cron=YEARLY)
    del body["task"]["template"]
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201
    assert server.http.post("/api/v1/schedules", json=body).status_code == 409
    with _bob(server) as bob, _rival(server) as eve:
        mine = bob.post("/api/v1/schedules", json=body | {"name": "bobs"})
        assert mine.status_code == 201 and mine.json()["owner"] == "bob"
        assert [s["name"] for s in bob.get("/api/v1/schedules").json()] == ["bobs"]
        assert bob.get("/api/v1/schedules/admins").status_code == 404
        assert bob.post("/api/v1/schedules/admins/pause").status_code == 404
        assert bob.delete("/api/v1/schedules/admins").status_code == 404
        names = [s["name"] for s in server.http.get("/api/v1/schedules").json()]
        assert names == ["admins", "bobs"]  # the admin sees the organization's
        assert eve.get("/api/v1/schedules").json() == []
        for method, path in [("GET", ""), ("POST", "/run"), ("DELETE", "")]:
            assert eve.request(method, f"/api/v1/schedules/admins{path}").status_code == 404
        reader = token_with(server.http, "tasks:read", user="bob")
        refused = bob.post(
            "/api/v1/schedules/bobs/run", headers={"Authorization": f"Bearer {reader}"}
        )
        assert refused.status_code == 403


async def _in_temporal(address: str, uid: str) -> bool:
    client = await Client.connect(address)
    try:
        await client.get_schedule_handle(schedule_id(uid)).describe()
    except RPCError:
        return False
    return True


def test_run_now_fires_once_and_delete_removes_it_from_temporal(
    server: RunningServer, waiting: str, remote_repo: Path
) -> None:
    body = schedule_body("weekly", remote_repo, waiting, cron=YEARLY, time_zone="Asia/Tokyo")
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201
    assert runs(server, "weekly") == []
    assert server.http.post("/api/v1/schedules/weekly/pause").status_code == 200
    refused = server.http.post("/api/v1/schedules/weekly/run")
    assert refused.status_code == 409 and "resume it first" in refused.text
    assert server.http.post("/api/v1/schedules/weekly/resume").status_code == 200
    assert server.http.post("/api/v1/schedules/weekly/run").status_code == 202
    made = poll(lambda: runs(server, "weekly"), "the run asked for")
    assert made[0]["outcome"] == "created"
    server.wait_for(made[0]["task"], "waiting")

    with session_scope(server.settings.resolved_database_url, write=False) as session:
        uid = session.scalar(select(Schedule.uid).where(Schedule.name == "weekly"))
    assert uid and asyncio.run(_in_temporal(server.settings.temporal_address, uid))
    assert server.http.delete("/api/v1/schedules/weekly").status_code == 204
    assert server.http.get("/api/v1/schedules/weekly").status_code == 404
    assert not asyncio.run(_in_temporal(server.settings.temporal_address, uid))
    assert server.task(made[0]["task"])["status"] == "waiting"  # its task stays
