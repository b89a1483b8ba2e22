"""What a task says about its agent once it ended: never still ``working``."""

from __future__ import annotations

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.services import tasks


def _agent_working(settings: Settings, task_id: int) -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        tasks.set_agent_state(session, task, "working", "Editing cart.py")


def test_a_cancelled_task_s_agent_is_not_working(api: httpx.Client, api_settings: Settings) -> None:
    task = api.post(
        "/api/v1/tasks", json={"title": "T", "repository": "acme/shop", "run": False}
    ).json()
    _agent_working(api_settings, task["id"])
    assert api.get(f"/api/v1/tasks/{task['key']}").json()["agent_state"] == "working"
    assert api.post(f"/api/v1/tasks/{task['key']}/cancel").status_code == 202
    shown = api.get(f"/api/v1/tasks/{task['key']}").json()
    assert shown["agent_state"] == "cancelled"
    # A report arriving late cannot make it work again.
    _agent_working(api_settings, task["id"])
    assert api.get(f"/api/v1/tasks/{task['key']}").json()["agent_state"] == "cancelled"


@pytest.mark.parametrize(("status", "state"), [("completed", "complete"), ("failed", "failure")])
def test_every_end_settles_the_agent_state(
    api: httpx.Client, api_settings: Settings, status: str, state: str
) -> None:
    task = api.post(
        "/api/v1/tasks", json={"title": "T", "repository": "acme/shop", "run": False}
    ).json()
    _agent_working(api_settings, task["id"])
    with session_scope(api_settings.resolved_database_url) as session:
        row = session.get(Task, task["id"])
        assert row is not None
        tasks.set_status(session, row, status, "done")
    assert api.get(f"/api/v1/tasks/{task['key']}").json()["agent_state"] == state
