"""A team's slots claimed at once from many connections: never more than the limit,
one place in line each, in order. Real SQLite, and real PostgreSQL when
TASKYARD_TEST_POSTGRES_URL names one (``scripts/with-postgres``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, select

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.models import Task, TeamSlot
from taskyard.db.session import session_scope
from taskyard.model.status import TaskStatus
from taskyard.services import concurrency, tasks
from taskyard.services.task_store import StatusChange, TaskStore
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN
from tests.support.server import serve_app

CLAIMS = 16
LIMIT = 3


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = bootstrapped(tmp_path, database_url)
    with serve_app(create_app(settings), ADMIN_TOKEN) as client:
        yield client, settings


@pytest.fixture
def api(served: tuple[httpx.Client, Settings]) -> tuple[httpx.Client, str]:
    client, settings = served
    return client, settings.resolved_database_url


def new_tasks(api: httpx.Client, count: int) -> list[int]:
    keys = []
    for _ in range(count):
        body = {"title": "t", "repository": "acme/shop", "run": False}
        response = api.post("/api/v1/tasks", json=body)
        assert response.status_code == 201, response.text
        keys.append(response.json()["key"])
    return [api.get(f"/api/v1/tasks/{k}").json()["id"] for k in keys]


def claim(url: str, task_id: int) -> concurrency.Claim:
    with session_scope(url) as session:
        task, team = concurrency.lock_line(session, task_id)
        return concurrency.claim(session, task, team, default=0)


def messages(url: str) -> dict[int, str]:
    with session_scope(url, write=False) as session:
        rows = session.execute(select(Task.id, Task.status_message)).all()
        return {task_id: message for task_id, message in rows}


def test_simultaneous_claims_never_exceed_the_limit_and_queue_in_order(
    api: tuple[httpx.Client, str],
) -> None:
    client, url = api
    assert client.patch("/api/v1/teams/TY", json={"max_running": LIMIT}).status_code == 200
    ids = new_tasks(client, CLAIMS)
    start = threading.Barrier(CLAIMS)

    def at_once(task_id: int) -> tuple[int, concurrency.Claim]:
        start.wait()
        return task_id, claim(url, task_id)

    with ThreadPoolExecutor(CLAIMS) as pool:
        results = dict(pool.map(at_once, ids))
    granted = [i for i, c in results.items() if c.granted]
    assert len(granted) == LIMIT
    line = sorted((c.ahead, i) for i, c in results.items() if not c.granted)
    assert [ahead for ahead, _ in line] == list(range(CLAIMS - LIMIT))
    shown = messages(url)
    assert all(shown[i] == f"queued: {ahead} ahead of you" for ahead, i in line)

    # Asking again changes nothing: a slot is kept, and so is a place in line.
    assert claim(url, granted[0]).granted
    assert claim(url, line[1][1]).ahead == 1

    # A released slot goes to the head of the line; everyone behind moves up.
    with session_scope(url) as session:
        woken = concurrency.release(session, granted[0], default=0)
    head = line[0][1]
    with session_scope(url, write=False) as session:
        assert woken == [session.get(Task, head).uid]  # type: ignore[union-attr]
        assert session.get(TeamSlot, head).running  # type: ignore[union-attr]
        assert session.get(TeamSlot, granted[0]) is None
    assert claim(url, head).granted
    shown = messages(url)
    assert all(shown[i] == f"queued: {ahead - 1} ahead of you" for ahead, i in line[1:])

    # A slot held by a task that ended counts for nothing.
    with session_scope(url) as session:
        ended = session.get(Task, granted[1])
        assert ended is not None
        tasks.set_status(session, ended, TaskStatus.FAILED, "crashed")
    assert claim(url, line[1][1]).granted
    assert claim(url, line[2][1]).ahead == 0

    # A raised limit lets the line move at once; unlimited takes every task.
    response = client.patch("/api/v1/teams/TY", json={"max_running": 0})
    assert response.json()["running"] == CLAIMS - 2 and response.json()["queued"] == 0


@pytest.mark.parametrize("limit", [0, LIMIT], ids=["no limit", "a limit"])
def test_with_nobody_waiting_a_claim_and_a_release_read_no_other_slot(
    api: tuple[httpx.Client, str], limit: int
) -> None:
    """Under the team's lock, work that does not grow with how many of its tasks run."""
    client, url = api
    assert client.patch("/api/v1/teams/TY", json={"max_running": limit}).status_code == 200
    ids = new_tasks(client, LIMIT + 1)
    for task_id in ids[:-2]:
        assert claim(url, task_id).granted
    loaded: list[int] = []

    def on_load(slot: TeamSlot, *_: object) -> None:
        loaded.append(slot.task_id)

    event.listen(TeamSlot, "load", on_load)
    event.listen(TeamSlot, "refresh", on_load)
    try:
        assert claim(url, ids[-2]).granted
        with session_scope(url) as session:
            assert concurrency.release(session, ids[0], default=0) == []
    finally:
        event.remove(TeamSlot, "load", on_load)
        event.remove(TeamSlot, "refresh", on_load)
    assert set(loaded) <= {ids[-2], ids[0]}  # each its own slot, no other
    # A team at its limit still lines up: the last claim waits, behind nobody.
    assert claim(url, ids[0]).granted
    assert claim(url, ids[-1]) == concurrency.Claim(limit == 0)


@pytest.mark.parametrize("limit", [0, 1], ids=["no limit", "a line"])
def test_a_burst_entering_their_stage_while_claiming_never_deadlocks(
    served: tuple[httpx.Client, Settings], limit: int
) -> None:
    """The workflow's claim writes the task's entry into its stage in the same transaction.
    Written before the team's lock was taken, PostgreSQL found claims waiting on each other
    for that lock, with a team limit or without (the default)."""
    client, settings = served
    assert client.patch("/api/v1/teams/TY", json={"max_running": limit}).status_code == 200
    ids = new_tasks(client, CLAIMS)
    store = TaskStore(settings)
    entering = StatusChange(TaskStatus.WORKING, "Entered Code", "code")
    start = threading.Barrier(CLAIMS)

    def at_once(task_id: int) -> tuple[int, concurrency.Claim]:
        start.wait()
        return task_id, store.claim_slot(task_id, entering)

    with ThreadPoolExecutor(CLAIMS) as pool:
        results = dict(pool.map(at_once, ids))  # a deadlock is raised here
    assert sum(c.granted for c in results.values()) == (limit or CLAIMS)
    waiting = {i: c.ahead for i, c in results.items() if not c.granted}
    assert sorted(waiting.values()) == list(range(len(waiting)))
    shown = messages(settings.resolved_database_url)
    assert all(shown[i] == f"queued: {ahead} ahead of you" for i, ahead in waiting.items())
    assert all(shown[i] == "Entered Code" for i, c in results.items() if c.granted)
