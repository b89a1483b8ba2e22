"""A task is handed to the engine with its stages, and with nothing of the database held:
the engine's start is a call to Temporal, and on SQLite a transaction open across it
holds the write lock that every other request and turn waits for. Real SQLite, and real
PostgreSQL when TASKYARD_TEST_POSTGRES_URL names one (``scripts/with-postgres``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import object_session

from taskyard.db.session import session_scope
from taskyard.model.signals import Signal
from taskyard.model.workflow import Stage
from taskyard.services import actions, tokens
from taskyard.services.tasks import TaskCreate
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN


class Engine:
    """Records, at each start, the stages it was given and whether the task's session
    had a transaction open."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, list[str] | None, bool]] = []

    def check(self) -> None:
        pass

    def start(self, task: Any, stages: list[Stage] | None = None) -> None:
        session = object_session(task)
        held = session is not None and session.in_transaction()
        keys = None if stages is None else [stage.key for stage in stages]
        self.starts.append((task.key, keys, held))

    def signal(self, task: Any, signal: Signal) -> None:
        pass

    def state(self, task: Any) -> dict[str, Any] | None:
        return None


@pytest.fixture
def url(tmp_path: Path, database_url: str) -> str:
    return bootstrapped(tmp_path, database_url).resolved_database_url


def body(**fields: Any) -> TaskCreate:
    return TaskCreate.model_validate({"title": "Fix it", "repository": "acme/shop", **fields})


def test_a_created_task_starts_with_its_stages_and_no_transaction_open(url: str) -> None:
    engine = Engine()
    with session_scope(url) as session:
        admin = tokens.authenticate(session, ADMIN_TOKEN)
        actions.create(session, engine, admin, body(), local_roots=[])

    assert engine.starts == [("TY-1", ["plan", "code", "review", "done"], False)]


def test_a_task_started_later_starts_with_its_stages_and_no_transaction_open(url: str) -> None:
    engine = Engine()
    with session_scope(url) as session:
        admin = tokens.authenticate(session, ADMIN_TOKEN)
        actions.create(session, engine, admin, body(run=False), local_roots=[])
    assert engine.starts == []

    with session_scope(url) as session:
        admin = tokens.authenticate(session, ADMIN_TOKEN)
        actions.start(session, engine, admin, "TY-1")

    assert engine.starts == [("TY-1", ["plan", "code", "review", "done"], False)]
