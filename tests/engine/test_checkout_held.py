"""Two tries of one step never use a checkout at once.

Temporal retries an activity whose heartbeats stopped reaching it while its first
try may still run on the same worker (an overloaded worker, Temporal away for
longer than the heartbeat timeout). The retry waits for that try to end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from taskyard.db.models import Run, Task
from taskyard.db.session import session_scope
from taskyard.engine import home
from taskyard.engine.home import read_mark
from taskyard.engine.layout import Workspace
from taskyard.engine.types import TurnInput
from taskyard.engine.workspace import prepare_workspace
from taskyard.services.task_store import TaskStore
from tests.engine.test_signals import push, wait_output
from tests.support.server import RunningServer
from tests.support.turns import runner_of

SLOW_COUNTING = """
echo ran >> count.txt
echo started
sleep 2
echo "turn done"
"""


def _ids(server: RunningServer, key: str) -> tuple[int, int | None]:
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
        run_id = session.scalar(select(Run.id).where(Run.task_id == task_id))
    assert task_id is not None
    return task_id, run_id


def test_a_retried_turn_waits_for_the_try_still_running_and_never_runs_the_agent_twice(
    server: RunningServer, remote_repo: Path, one_stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(home, "WAIT_SAID_AFTER", 0.5)  # the first try's agent runs 2 s
    template = push(server, "slow-counting", SLOW_COUNTING)
    key = server.create_task(
        title="Count", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    wait_output(server, key, "started")  # the first try's agent is running now
    task_id, run_id = _ids(server, key)
    assert run_id is not None

    # The retry Temporal starts when the first try's heartbeats were lost.
    runner = runner_of(server.settings)
    again = asyncio.run(runner.run(TurnInput(task_id, "code", run_id, 0), lambda: None))

    # It waited for the first try, and answered with that try's result.
    assert again.state == "complete"
    checkout = server.settings.checkouts_dir / "1" / key
    assert (checkout / "count.txt").read_text() == "ran\n"
    server.wait_for(key, "completed")
    assert (checkout / "count.txt").read_text() == "ran\n"
    outputs = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert outputs.count("started") == 1
    # The wait was said on the task's timeline, once, as it went on.
    waits = [e for e in server.events(key) if e["kind"] == "error" and e["data"].get("waiting")]
    assert len(waits) == 1
    assert "an earlier try of one of its steps still holds" in waits[0]["data"]["message"]


def test_preparations_of_one_workspace_at_once_make_one_checkout(
    server: RunningServer, remote_repo: Path
) -> None:
    key = server.create_task(title="Not yet", repository=str(remote_repo), run=False)["key"]
    task_id, _ = _ids(server, key)
    store = TaskStore(server.settings)

    async def both() -> None:
        await asyncio.gather(
            *(prepare_workspace(server.settings, store, task_id, lambda: None) for _ in range(3))
        )

    asyncio.run(both())
    facts = store.facts(task_id)
    workspace = asyncio.run(
        Workspace.at(server.settings, facts.workspace_name, facts.forge_site, facts.repository)
    )
    assert read_mark(workspace.mark) is not None
    head = (workspace.checkout / ".git" / "HEAD").read_text()
    assert head == f"ref: refs/heads/{facts.branch}\n"
    leftovers = [p.name for p in workspace.checkout.parent.iterdir() if p.name != key]
    assert leftovers == []
