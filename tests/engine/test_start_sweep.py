"""A task whose workflow the engine could not start when it was stored is started later,
and its creator is told it was made (never a refusal a retry would turn into two tasks)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.model.errors import Unavailable
from taskyard.model.signals import Signal
from taskyard.model.workflow import Stage
from taskyard.services import actions
from taskyard.services.access import Principal
from taskyard.services.tasks import TaskCreate
from tests.engine.test_signals import push
from tests.support.history import local_steps
from tests.support.server import RunningServer

ADMIN = Principal(user_id=1, org_id=1, username="admin", scopes=frozenset({"admin"}))


class BusyEngine:
    """The engine as a caller meets it when Temporal is overloaded or restarting: connected,
    but its start times out."""

    def __init__(self) -> None:
        self.starts = 0

    def check(self) -> None:
        pass

    def start(self, task: Task, stages: list[Stage] | None = None) -> None:
        self.starts += 1
        raise Unavailable("The engine is unreachable: deadline exceeded")

    def signal(self, task: Task, signal: Signal) -> None:
        raise Unavailable("The engine is unreachable: deadline exceeded")

    def state(self, task: Task) -> None:
        return None


@pytest.mark.parametrize("how", ["create", "start"])
def test_a_task_the_engine_could_not_start_is_stored_and_started_by_the_next_sweep(
    server: RunningServer, remote_repo: Path, one_stage: str, how: str
) -> None:
    template = push(server, "quick", "echo done")
    engine = BusyEngine()
    body = TaskCreate.model_validate(
        {
            "title": "Started later",
            "repository": str(remote_repo),
            "template": template,
            "workflow": one_stage,
            "run": how == "create",
        }
    )
    with session_scope(server.settings.resolved_database_url) as session:
        task = actions.create(session, engine, ADMIN, body, local_roots=[remote_repo.parent]).task
        key = task.key
        if how == "start":
            actions.start(session, engine, ADMIN, key)
    assert engine.starts == 1  # refused, and not raised to the caller
    assert server.task(key)["status"] == "queued"

    server.wait_for(key, "completed")
    outputs = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert outputs == ["done"]
    # The sweep had no workflow at hand: the task's first step read its stages.
    assert asyncio.run(local_steps(server.settings, key))[0] == "load_plan"
