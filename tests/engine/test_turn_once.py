"""A turn that ran to its end is never run again, whatever retries its activity."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from taskyard.db.models import Run, Task
from taskyard.db.session import session_scope
from taskyard.engine.types import TurnInput, TurnResult
from tests.engine.test_signals import push
from tests.support.server import RunningServer
from tests.support.turns import runner_of

COUNTING = """
echo ran >> count.txt
echo "turn done"
"""


def test_a_finished_turn_retried_returns_its_result_without_running_the_agent(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    template = push(server, "counting", COUNTING)
    key = server.create_task(
        title="Count", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    server.wait_for(key, "completed")
    checkout = server.settings.checkouts_dir / "1" / key
    assert (checkout / "count.txt").read_text() == "ran\n"
    outputs = [e for e in server.events(key) if e["kind"] == "output"]
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
        run_id = session.scalar(select(Run.id).where(Run.task_id == task_id))
        seconds = session.scalar(select(Task.agent_seconds).where(Task.key == key))
    assert task_id is not None and run_id is not None

    # What Temporal does when a turn's answer was lost (its worker killed after the
    # agent finished, or Temporal away longer than the heartbeat timeout): run it again.
    runner = runner_of(server.settings)
    again = asyncio.run(runner.run(TurnInput(task_id, "code", run_id, 0), lambda: None))

    assert again == TurnResult(0, "complete", "Agent finished.", "", "")
    assert (checkout / "count.txt").read_text() == "ran\n"  # the agent did not run
    assert [e for e in server.events(key) if e["kind"] == "output"] == outputs
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        assert session.scalar(select(Task.agent_seconds).where(Task.key == key)) == seconds


def test_a_finished_turn_retried_on_another_worker_leaves_its_work_there(
    server: RunningServer, remote_repo: Path, one_stage: str, tmp_path: Path
) -> None:
    """A first turn retried on a worker that never held the checkout: that worker becomes
    the task's home (the delivery goes there next), so it must hold the turn's work."""
    template = push(server, "counting", COUNTING)
    key = server.create_task(
        title="Count", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    server.wait_for(key, "completed")
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
        run_id = session.scalar(select(Run.id).where(Run.task_id == task_id))
    assert task_id is not None and run_id is not None

    other = server.settings.model_copy(update={"data_dir": tmp_path / "other-worker"})
    runner = runner_of(other)
    again = asyncio.run(runner.run(TurnInput(task_id, "code", run_id, 0), lambda: None))

    assert again.state == "complete"
    # The agent did not run there; its work came from the turn's checkpoint.
    assert (other.checkouts_dir / "1" / key / "count.txt").read_text() == "ran\n"
    assert len([e for e in server.events(key) if e["kind"] == "output"]) == 1
