"""An owner withdrawn from an organization stops its tasks on that owner's repositories.

The grant is checked when a task is made, and again at every step a worker takes on the
task's repository with the server's shared forge credentials (the fetch, the workspace, a
turn's work, the delivery): a task made before the grant was withdrawn does not go on
fetching or pushing with them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from taskyard.config import Settings
from taskyard.db.models import Event, PullRequest, Task
from taskyard.db.session import session_scope
from taskyard.engine.delivery import mark_ready
from taskyard.model.errors import Forbidden
from taskyard.model.status import FINAL
from taskyard.services import tracking
from taskyard.services.task_store import TaskStore
from tests.api.conftest import api, api_settings
from tests.support.server import RunningServer

__all__ = ["api", "api_settings"]


def _ended(http: httpx.Client, key: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task: dict[str, Any] = http.get(f"/api/v1/tasks/{key}", headers=headers).json()
        if task["status"] in FINAL:
            return task
        time.sleep(0.1)
    raise AssertionError(f"{key} did not end: {task['status']} {task['status_message']}")


def test_a_task_whose_owner_was_withdrawn_fails_at_its_first_step_and_fetches_nothing(
    server: RunningServer,
) -> None:
    body = {"slug": "acme", "admin": "alice", "repository_owners": ["acme"]}
    made = server.http.post("/api/v1/organizations", json=body)
    assert made.status_code == 201, made.text
    alice = {"Authorization": f"Bearer {made.json()['token']}"}
    task = {"title": "Fix the shop", "repository": "acme/shop", "run": False}
    created = server.http.post("/api/v1/tasks", json=task, headers=alice)
    assert created.status_code == 201, created.text
    key = created.json()["key"]

    withdrawn = server.http.patch("/api/v1/organizations/acme", json={"repository_owners": []})
    assert withdrawn.status_code == 200, withdrawn.text
    assert server.http.post(f"/api/v1/tasks/{key}/start", headers=alice).status_code == 200

    ended = _ended(server.http, key, alice)
    assert ended["status"] == "failed"
    assert "may not work on repositories of 'acme'" in ended["status_message"]
    assert "set-owners" in ended["status_message"]  # what the admin does about it
    mirrors = server.settings.mirrors_dir
    assert not mirrors.exists() or not any(mirrors.iterdir())  # nothing was fetched
    # Failed at once, not after retries (each of which its timeline would tell).
    events = server.http.get(f"/api/v1/tasks/{key}/events", headers=alice).json()["items"]
    assert [e for e in events if e["kind"] == "error"] == []


def _withdrawn_task(api: httpx.Client, settings: Settings) -> int:
    """A task of organization ``acme`` on ``acme/shop``, followed by a tracking comment and
    with a draft pull request, made while ``acme`` was granted; then withdrawn."""
    body = {"slug": "acme", "admin": "alice", "repository_owners": ["acme"]}
    made = api.post("/api/v1/organizations", json=body)
    assert made.status_code == 201, made.text
    alice = {"Authorization": f"Bearer {made.json()['token']}"}
    task = {"title": "Fix the shop", "repository": "acme/shop", "run": False}
    created = api.post("/api/v1/tasks", json=task, headers=alice)
    assert created.status_code == 201, created.text
    task_id: int = created.json()["id"]
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(Task, task_id)
        assert row is not None
        tracking.start_tracking(session, row, "acme/shop", 7)
        pull = PullRequest(
            task_id=task_id, forge="github", repository="acme/shop", number=12, title="t"
        )
        session.add(pull)
        pull.head, pull.base, pull.draft, pull.node_id = row.branch, "main", True, "PR_12"
    withdrawn = api.patch("/api/v1/organizations/acme", json={"repository_owners": []})
    assert withdrawn.status_code == 200, withdrawn.text
    return task_id


def test_its_tracking_comment_and_drafts_are_left_alone(
    api: httpx.Client, api_settings: Settings
) -> None:
    task_id = _withdrawn_task(api, api_settings)

    [due] = tracking.claim_due(api_settings, 10, dt.timedelta(minutes=5))
    assert "may not work on repositories of 'acme'" in due.refused
    with pytest.raises(Forbidden, match="'acme'"):
        TaskStore(api_settings).facts(task_id)

    # Approval marks drafts ready with the server's credentials: not these. No forge is
    # reached (there is none here); the task's timeline says why the draft stays one.
    asyncio.run(mark_ready(api_settings, task_id, last_try=True))
    with session_scope(api_settings.resolved_database_url, write=False) as session:
        said = [e.data for e in session.scalars(select(Event).where(Event.task_id == task_id))]
        still_draft = session.scalar(select(PullRequest.draft).where(PullRequest.number == 12))
    assert any("could not be marked ready" in str(d) and "'acme'" in str(d) for d in said)
    assert still_draft is True
