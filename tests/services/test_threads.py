"""One open task per thread: creates on a thread with an open task become messages to it,
however many arrive at once. Real SQLite, and real PostgreSQL when
TASKYARD_TEST_POSTGRES_URL names one (``scripts/with-postgres``).

The engine here keeps Temporal's rule that matters: a workflow takes signals only once
started, so a message folded before the task's own start would fail as it would there.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from taskyard.db.models import Event, Task
from taskyard.db.session import session_scope
from taskyard.model.errors import Conflict
from taskyard.model.signals import Signal
from taskyard.model.status import TaskStatus
from taskyard.model.workflow import Stage
from taskyard.services import actions, tasks, tokens
from taskyard.services.access import Principal
from taskyard.services.tasks import TaskCreate
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN

THREAD = "github:acme/shop#12"


class Engine:
    """Records starts and signals; a signal to a workflow not started is refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.signals: list[tuple[str, Signal]] = []

    def check(self) -> None:
        pass

    def start(self, task: Task, stages: list[Stage] | None = None) -> None:
        with self.lock:
            if task.key not in self.started:
                self.started.append(task.key)

    def signal(self, task: Task, signal: Signal) -> None:
        with self.lock:
            if task.key not in self.started:
                raise Conflict(f"The task is not running, so it cannot take '{signal.kind}'.")
            self.signals.append((task.key, signal))

    def state(self, task: Task) -> dict[str, Any] | None:
        return None


@pytest.fixture
def url(tmp_path: Path, database_url: str) -> str:
    return bootstrapped(tmp_path, database_url).resolved_database_url


def admin(url: str) -> Principal:
    with session_scope(url, write=False) as session:
        return tokens.authenticate(session, ADMIN_TOKEN)


def create(url: str, engine: Engine, text: str, **fields: Any) -> tuple[str, bool]:
    body = TaskCreate.model_validate(
        {"title": "Fix it", "repository": "acme/shop", "description": text, **fields}
    )
    with session_scope(url) as session:
        done = actions.create(session, engine, admin(url), body, local_roots=[])
        return done.task.key, done.created


def messages(url: str, key: str) -> list[dict[str, Any]]:
    with session_scope(url, write=False) as session:
        rows = session.scalars(
            select(Event.data)
            .join(Task, Task.id == Event.task_id)
            .where(Task.key == key, Event.kind == "message")
            .order_by(Event.id)
        )
        return list(rows)


def test_a_second_create_on_the_thread_messages_the_open_task(url: str) -> None:
    engine = Engine()
    assert create(url, engine, "Fix the crash", thread=THREAD) == ("TY-1", True)
    assert create(url, engine, "Also the docs", thread=THREAD) == ("TY-1", False)
    assert create(url, engine, "Elsewhere", thread="github:acme/shop#13") == ("TY-2", True)
    assert create(url, engine, "No thread") == ("TY-3", True)

    assert [(key, s.kind, s.text, s.by) for key, s in engine.signals] == [
        ("TY-1", "message", "Also the docs", "admin")
    ]
    assert messages(url, "TY-1") == [{"text": "Also the docs", "by": "admin", "thread": THREAD}]
    with session_scope(url, write=False) as session:
        assert session.scalar(select(Task.thread).where(Task.key == "TY-1")) == THREAD
        assert session.scalar(select(func.count()).select_from(Task)) == 3


def test_a_task_that_ended_frees_its_thread(url: str) -> None:
    engine = Engine()
    assert create(url, engine, "First", thread=THREAD) == ("TY-1", True)
    with session_scope(url) as session:
        task = session.scalars(select(Task).where(Task.key == "TY-1")).one()
        tasks.set_status(session, task, TaskStatus.COMPLETED)
    assert create(url, engine, "Again", thread=THREAD) == ("TY-2", True)
    assert create(url, engine, "More", thread=THREAD) == ("TY-2", False)
    assert messages(url, "TY-1") == []


def test_an_open_task_never_started_is_not_messaged(url: str) -> None:
    engine = Engine()
    assert create(url, engine, "Later", thread=THREAD, run=False) == ("TY-1", True)
    with pytest.raises(Conflict, match=r"TY-1 is open on thread .* never started: start it"):
        create(url, engine, "Now", thread=THREAD)
    assert engine.signals == []


def test_simultaneous_creates_on_one_thread_make_one_task(url: str) -> None:
    engine, count = Engine(), 12
    barrier = threading.Barrier(count)

    def one(n: int) -> tuple[str, bool]:
        barrier.wait()
        return create(url, engine, f"instruction {n}", thread=THREAD)

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))

    assert {key for key, _ in results} == {"TY-1"}
    assert sorted(created for _, created in results) == [False] * (count - 1) + [True]
    assert len(engine.signals) == count - 1  # each fold reached the started workflow
    assert len(messages(url, "TY-1")) == count - 1
    with session_scope(url, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 1
