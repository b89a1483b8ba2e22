"""A turn that ran to its end is never run again, whatever retries its activity."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from taskyard import logs
from taskyard.db.models import Run, Task
from taskyard.db.session import session_scope
from taskyard.engine.types import SlotInput, TurnInput, TurnResult
from taskyard.engine.workspace import current_mark
from taskyard.services.task_store import TaskStore
from tests.conftest import git
from tests.engine.test_signals import push
from tests.support.server import RunningServer
from tests.support.turns import runner_of

COUNTING = """
echo ran >> count.txt
echo "turn done"
"""


def _counted(server: RunningServer, repo: Path, workflow: str) -> str:
    """A task whose agent counted its one run, completed; its key."""
    template = push(server, "counting", COUNTING)
    key = server.create_task(
        title="Count", repository=str(repo), template=template, workflow=workflow
    )["key"]
    server.wait_for(key, "completed")
    return str(key)


def test_a_finished_turn_retried_returns_its_result_without_running_the_agent(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    key = _counted(server, remote_repo, one_stage)
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

    assert again == TurnResult(0, "complete", "Agent finished.", "", "", run_id=run_id)
    assert (checkout / "count.txt").read_text() == "ran\n"  # the agent did not run
    assert [e for e in server.events(key) if e["kind"] == "output"] == outputs
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        assert session.scalar(select(Task.agent_seconds).where(Task.key == key)) == seconds


def test_a_finished_turn_retried_on_another_worker_leaves_its_work_there(
    server: RunningServer, remote_repo: Path, one_stage: str, tmp_path: Path
) -> None:
    """A first turn retried on a worker that never held the checkout: that worker becomes
    the task's home (the delivery goes there next), so it must hold the turn's work."""
    key = _counted(server, remote_repo, one_stage)
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


def test_a_first_turn_retried_before_its_answer_came_keeps_its_run_and_its_result(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    """A run's first turn claims the slot and starts the run itself: its retry (the
    answer lost before the workflow heard it, so the run is still open) carries on with
    that run and finds the turn's result, rather than start a second run and the agent."""
    key = _counted(server, remote_repo, one_stage)
    checkout = server.settings.checkouts_dir / "1" / key
    with session_scope(server.settings.resolved_database_url) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
        run = session.scalars(select(Run).where(Run.task_id == task_id)).one()
        run.ended_at = None  # as it was while the turn's answer was on its way
        run_id = run.id
    assert task_id is not None

    runner = runner_of(server.settings)
    first = TurnInput(task_id, "code", 0, 0, begin=SlotInput(task_id))
    again = asyncio.run(runner.run(first, lambda: None))

    assert again == TurnResult(0, "complete", "Agent finished.", "", "", run_id=run_id)
    assert (checkout / "count.txt").read_text() == "ran\n"  # the agent did not run
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        assert session.scalars(select(Run.id).where(Run.task_id == task_id)).all() == [run_id]


def test_a_try_that_read_the_task_before_another_recorded_its_base_starts_from_that_base(
    server: RunningServer, remote_repo: Path, one_stage: str, tmp_path: Path
) -> None:
    """Two tries of a task's first turn (a retry while the first still ran, on another
    worker) both find no base recorded: the one that records second must not start the
    work from the base's tip as it is now, but from the commit the task recorded."""
    key = server.create_task(
        title="Base", repository=str(remote_repo), workflow=one_stage, run=False
    )["key"]
    store = TaskStore(server.settings)
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
    assert task_id is not None
    stale = store.facts(task_id)  # read before the other try recorded the base
    first = git("rev-parse", "main", cwd=remote_repo).strip()
    assert store.set_base(task_id, "main", first) == first  # the other try's record
    work = tmp_path / "later"
    git("clone", "--quiet", str(remote_repo), str(work))
    (work / "later.txt").write_text("pushed after the task began\n")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "later", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)

    asyncio.run(current_mark(server.settings, store, task_id, lambda: None, stale))

    checkout = server.settings.checkouts_dir / "1" / key
    assert git("rev-parse", "HEAD", cwd=checkout).strip() == first
    assert not (checkout / "later.txt").exists()
    assert store.set_base(task_id, "main", "0" * 40) == first  # recorded once


def test_a_first_turns_log_lines_name_the_run_it_started(
    server: RunningServer, remote_repo: Path, one_stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = server.create_task(
        title="Logs", repository=str(remote_repo), workflow=one_stage, run=False
    )["key"]
    with session_scope(server.settings.resolved_database_url, write=False) as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
    assert task_id is not None
    runner = runner_of(server.settings)
    seen: list[dict[str, object]] = []

    async def turn(inp: TurnInput, heartbeat: object, task: object) -> TurnResult:
        seen.append(logs.current())
        return TurnResult(0, "complete", "")

    monkeypatch.setattr(runner, "_run_held", turn)
    first = TurnInput(task_id, "code", 0, 0, begin=SlotInput(task_id))
    result = asyncio.run(runner.run(first, lambda: None))

    with session_scope(server.settings.resolved_database_url, write=False) as session:
        run_id = session.scalar(select(Run.id).where(Run.task_id == task_id))
    assert run_id is not None and result.run_id == run_id
    assert seen == [{"run_id": run_id}]
