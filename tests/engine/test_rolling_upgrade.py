"""Workers upgraded one at a time: a step a worker of the earlier release does not know
waits for one that does, and the task never fails for it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.engine.activities import TaskActivities
from taskyard.engine.client import workflow_id
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_step_failures import _task
from tests.support.server import start_server


async def _pending(settings: Settings, key: str) -> list[tuple[str, int]]:
    """The task's activities Temporal is trying to run: (step, attempt)."""
    with session_scope(settings.resolved_database_url, write=False) as session:
        uid = session.scalar(select(Task.uid).where(Task.key == key))
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    described = await client.get_workflow_handle(workflow_id(str(uid))).describe()
    pending = described.raw_description.pending_activities
    return [(p.activity_type.name, p.attempt) for p in pending]


def test_a_first_turn_taken_by_an_earlier_release_waits_for_an_upgraded_worker(
    settings: Settings, remote_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_step = TaskActivities.all

    def earlier_release(self: TaskActivities) -> list[Any]:
        return [step for step in every_step(self) if step.__name__ != "run_first_turn"]

    # The workflow is today's (a worker upgraded first started the task); the only worker
    # left to take its steps is of the release before run_first_turn existed.
    monkeypatch.setattr(TaskActivities, "all", earlier_release)
    with start_server(settings, ADMIN_TOKEN) as old:
        key = _task(old, remote_repo)
        deadline = time.monotonic() + 60
        while ("run_first_turn", 3) not in [
            (step, min(attempt, 3)) for step, attempt in asyncio.run(_pending(settings, key))
        ]:
            assert time.monotonic() < deadline, asyncio.run(_pending(settings, key))
            time.sleep(0.1)
        task = old.task(key)
        assert task["status"] not in ("failed", "working")  # waiting, not failed, not run
        assert not [e for e in old.events(key) if e["kind"] == "output"]

    monkeypatch.setattr(TaskActivities, "all", every_step)
    with start_server(settings, ADMIN_TOKEN) as upgraded:
        upgraded.wait_for(key, "completed", timeout=60)
        assert any(
            "did it" in str(e["data"]) for e in upgraded.events(key) if e["kind"] == "output"
        )
