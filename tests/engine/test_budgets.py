"""Budgets and limits stop a runaway agent: the task fails saying which one, the agent's
processes are gone, and what it already wrote stays in the task's checkout.

Time, idle and turn budgets run through the real engine with ``command`` agents. A
command agent reports no token usage, so the token and cost budgets are exercised one
level down, on the turn's output pump, with a real process printing Claude Code's
``stream-json`` usage and the real event sink writing to a real database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taskyard.agents.base import Invocation
from taskyard.agents.claude_code import ClaudeCodeTurn
from taskyard.config import Settings
from taskyard.db.models import Run, Task
from taskyard.db.session import migrate, session_scope
from taskyard.engine.event_sink import EventSink
from taskyard.engine.turns import _pump
from taskyard.model.redaction import Redactor
from taskyard.services import runs, templates, tokens
from taskyard.services.bootstrap import ensure_bootstrapped
from taskyard.services.stops import Stop
from taskyard.services.task_store import TaskStore
from taskyard.services.tasks import TaskCreate, create_task
from taskyard.services.turn_setup import prepare_turn
from taskyard.workspaces.sandbox import start_process
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import alive, wait_output
from tests.support.server import RunningServer

# Writes its work, reports its pids (the shell and a background child), then runs on.
RUNAWAY = """
echo "half done" > progress.txt
sleep 1000 &
echo "pids $$ $!"
"""
TICKING = RUNAWAY + "while true; do echo tick; sleep 0.05; done\n"
SILENT = RUNAWAY + "wait\n"


def push(server: RunningServer, name: str, command: str, **blocks: dict[str, Any]) -> str:
    """Push a ``command`` template with extra blocks (``budget=...``, ``limits=...``)."""
    body = f"name: {name}\nsandbox: none\nagent:\n  kind: command\n  command: |\n"
    body += "".join(f"    {line}\n" for line in command.strip().splitlines())
    body += "".join(f"{key}: {json.dumps(value)}\n" for key, value in blocks.items())
    response = server.http.post("/api/v1/templates", content=body)
    assert response.status_code == 201, response.text
    return name


def run_until_stopped(
    server: RunningServer, remote_repo: Path, template: str, workflow: str
) -> tuple[dict[str, Any], list[int]]:
    """Start a task, read its agent's pids, follow it until it fails; the task and pids."""
    key = server.create_task(
        title="Runaway", repository=str(remote_repo), template=template, workflow=workflow
    )["key"]
    pids = [int(p) for p in wait_output(server, key, "pids ").split()[1:]]
    return server.wait_for(key, "failed"), pids


def assert_work_kept(server: RunningServer, key: str) -> None:
    checkout = server.settings.checkouts_dir / "1" / key
    assert (checkout / "progress.txt").read_text() == "half done\n"
    assert "+half done" in server.published_diff(key)


def test_max_minutes_stops_a_runaway_agent_and_keeps_its_work(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    template = push(server, "runaway", TICKING, budget={"max_minutes": 0.05})
    task, pids = run_until_stopped(server, remote_repo, template, one_stage)
    assert task["status_message"] == "Budget reached: max_minutes: turn ran out of time"
    assert not any(alive(p) for p in pids), "the agent's whole process tree must be killed"
    assert_work_kept(server, task["key"])
    states = [e["data"] for e in server.events(task["key"]) if e["kind"] == "agent"]
    assert states[-1] == {
        "type": "state",
        "state": "failure",
        "message": "Stopped: max_minutes: turn ran out of time",
    }
    assert task["agent_state"] == "failure"


def test_turn_timeout_stops_the_turn(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    template = push(server, "slow", TICKING, limits={"timeout_minutes": 0.02})
    task, pids = run_until_stopped(server, remote_repo, template, one_stage)
    assert task["status_message"] == "Budget reached: timeout_minutes: turn ran out of time"
    assert not any(alive(p) for p in pids)
    assert_work_kept(server, task["key"])


def test_idle_limit_stops_a_silent_agent(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    template = push(server, "silent", SILENT, limits={"idle_minutes": 0.02})
    task, pids = run_until_stopped(server, remote_repo, template, one_stage)
    assert task["status_message"] == "Budget reached: idle_minutes (0.02): no output"
    assert not any(alive(p) for p in pids)
    assert_work_kept(server, task["key"])


def test_max_turns_refuses_the_turn_a_message_asks_for(
    server: RunningServer, remote_repo: Path, one_stage: str, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    command = f"""
if [ "$TASKYARD_TURN" = 0 ]; then
  echo "half done" > progress.txt
  echo "first turn"
  while [ ! -e {gate} ]; do sleep 0.05; done
else
  echo "turn $TASKYARD_TURN ran" >> progress.txt
fi
"""
    template = push(server, "one-turn", command, budget={"max_turns": 1})
    key = server.create_task(
        title="Chat", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    wait_output(server, key, "first turn")
    assert server.http.post(f"/api/v1/tasks/{key}/messages", json={"text": "more"}).is_success
    gate.touch()

    task = server.wait_for(key, "failed")
    assert task["status_message"] == "Budget reached: max_turns (1)"
    assert (task["agent_state"], task["agent_message"]) == ("failure", "Stopped: max_turns (1)")
    assert_work_kept(server, key)  # and the refused turn never ran
    outputs = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert outputs == ["first turn"]


GATED = {
    "name": "gated",
    "stages": [{"key": "code", "agent": {}, "gate": "approval"}, {"key": "done"}],
}


def test_a_message_at_a_gate_costs_one_turn(server: RunningServer, remote_repo: Path) -> None:
    assert server.http.post("/api/v1/workflows", json=GATED).status_code == 201
    command = 'echo "turn $TASKYARD_TURN: $(echo "$TASKYARD_PROMPT" | head -n 1)"'
    template = push(server, "chat", command, budget={"max_turns": 2})
    key = server.create_task(
        title="Chat", repository=str(remote_repo), template=template, workflow="gated"
    )["key"]
    server.wait_for(key, "waiting")
    mark = server.last_event_id(key)
    assert server.http.post(f"/api/v1/tasks/{key}/messages", json={"text": "more"}).is_success

    task = server.wait_for(key, "waiting", "failed", after=mark)
    outputs = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    # Today: the stage prompt runs again, and the message is refused by max_turns (2).
    assert len(outputs) == 2 and outputs[1].endswith(": more"), outputs
    assert task["status"] == "waiting", task["status_message"]


# Token and cost budgets, on the output pump ------------------------------------------


@dataclass
class Spending:
    """A task (template ``spend``: a budget) and a run of it, in a fresh database."""

    settings: Settings
    task_id: int
    run_id: int

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url


PLAN_THEN_CODE = {
    "name": "plan-code",
    "stages": [
        {"key": "plan", "agent": {}, "gate": "approval"},
        {"key": "code", "agent": {}},
        {"key": "done"},
    ],
}


def test_time_waiting_for_a_person_is_not_agent_time(
    server: RunningServer, remote_repo: Path
) -> None:
    assert server.http.post("/api/v1/workflows", json=PLAN_THEN_CODE).status_code == 201
    template = push(server, "quick", 'echo "$TASKYARD_STAGE done"', budget={"max_minutes": 0.02})
    key = server.create_task(
        title="T", repository=str(remote_repo), template=template, workflow="plan-code"
    )["key"]
    server.wait_for(key, "waiting", stage="plan")
    # The person reads the plan for longer than the whole budget (1.2 s); a time
    # budget counts the agent's own time, so the task must still complete.
    time.sleep(1.5)
    assert server.http.post(f"/api/v1/tasks/{key}/approve").status_code == 202
    task = server.wait_for(key, "completed", "failed")
    assert task["status"] == "completed", task["status_message"]


@pytest.fixture
def local(tmp_path: Path, database_url: str) -> Settings:
    """Settings without Temporal: these tests call the turn's code directly."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test")


def spending(
    settings: Settings, budget: dict[str, Any], used: int = 0, cost: float = 0.0
) -> Spending:
    """What the token and cost tests pump against; ``used`` and ``cost``: earlier turns'."""
    url = settings.resolved_database_url
    migrate(url)
    source = (
        f"name: spend\nagent: {{kind: command, command: 'true'}}\nbudget: {json.dumps(budget)}\n"
    )
    with session_scope(url) as session:
        ensure_bootstrapped(session, ADMIN_TOKEN)
        principal = tokens.authenticate(session, ADMIN_TOKEN)
        templates.push_template(session, principal, source, settings)
        body = TaskCreate(title="Spend", repository="acme/shop", template="spend", run=False)
        task = create_task(session, principal, body, local_roots=())
        task.input_tokens, task.cost_usd = used, cost
        return Spending(settings, task.id, runs.start_run(session, task.id, "code").id)


def fake_claude(*messages: dict[str, Any], then: str = "") -> list[str]:
    """A process printing Claude Code stream-json after writing its work, then ``then``."""
    init = {"type": "system", "subtype": "init", "session_id": "s-1", "model": "fake"}
    script = (
        "import json, time\n"
        "open('progress.txt', 'w').write('half done\\n')\n"
        f"for m in {[init, *messages]!r}: print(json.dumps(m), flush=True)\n"
        f"{then}\n"
    )
    return [sys.executable, "-c", script]


def result(input_tokens: int, output_tokens: int, cost: float) -> dict[str, Any]:
    """The ``result`` message that ends a Claude Code turn, with the turn's usage."""
    return {
        "type": "result",
        "subtype": "success",
        "result": "done",
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        "total_cost_usd": cost,
        "session_id": "s-1",
    }


async def pump(spend: Spending, argv: list[str], workdir: Path) -> tuple[str, int]:
    """Run ``argv`` through a turn's output pump as ``run_turn`` does: (stopped_by, exit)."""
    setup = await asyncio.to_thread(
        prepare_turn, spend.settings, spend.task_id, spend.run_id, "code"
    )
    process = await start_process(argv, {"PATH": "/usr/bin:/bin"}, workdir, None)
    store = TaskStore(spend.settings)
    with EventSink(store, spend.task_id, spend.run_id, Redactor([])) as sink:
        try:
            parser = ClaudeCodeTurn(Invocation([]))
            stop = await asyncio.wait_for(_pump(process, parser, sink, setup, _no_beat, never), 30)
            if stop:
                await process.kill()
            code = await process.wait()
        except BaseException:
            await process.kill()
            raise
        await sink.close()
    return (stop.reason if stop else ""), code


def _no_beat() -> None:
    """Heartbeats go to Temporal, which this test does without."""


async def never() -> Stop:
    """No one asks these turns to stop: only their own budgets end them."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_max_tokens_counts_earlier_turns(local: Settings, tmp_path: Path) -> None:
    spend = spending(local, {"max_tokens": 1000}, used=900)
    argv = fake_claude(result(150, 50, 0.01), then="time.sleep(1000)")
    assert await pump(spend, argv, tmp_path) == ("max_tokens (1000)", -9)
    assert (tmp_path / "progress.txt").read_text() == "half done\n"
    with session_scope(spend.url) as session:
        task = session.get(Task, spend.task_id)
        assert task is not None and (task.input_tokens, task.output_tokens) == (1050, 50)


async def test_max_cost_counts_earlier_turns(local: Settings, tmp_path: Path) -> None:
    spend = spending(local, {"max_cost_usd": 1.0}, cost=0.95)
    argv = fake_claude(result(10, 10, 0.10), then="time.sleep(1000)")
    assert await pump(spend, argv, tmp_path) == ("max_cost_usd (1)", -9)


async def test_usage_under_budget_lets_the_turn_end(local: Settings, tmp_path: Path) -> None:
    spend = spending(local, {"max_tokens": 1000, "max_cost_usd": 1.0}, used=500, cost=0.5)
    assert await pump(spend, fake_claude(result(100, 100, 0.1)), tmp_path) == ("", 0)


def assistant(message_id: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """One model call as Claude Code's stream-json reports it, with its usage."""
    return {
        "type": "assistant",
        "session_id": "s-1",
        "message": {
            "id": message_id,
            "role": "assistant",
            "content": [{"type": "text", "text": "thinking"}],
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
    }


async def test_max_tokens_stops_a_runaway_turn_before_its_result(
    local: Settings, tmp_path: Path
) -> None:
    spend = spending(local, {"max_tokens": 1000})
    forever = (
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        f"    m = {assistant('m', 400, 100)!r}\n"
        "    m['message']['id'] = f'm{i}'\n"
        "    print(json.dumps(m), flush=True)\n"
        "    time.sleep(0.01)\n"
    )
    stopped = await asyncio.wait_for(pump(spend, fake_claude(then=forever), tmp_path), 10)
    assert stopped == ("max_tokens (1000)", -9)


def test_a_turn_on_a_rebuilt_home_starts_a_new_session_with_the_stage_prompt(
    settings: Settings,
) -> None:
    """A workspace that moved has none of the agent's sessions: resuming one would fail,
    and the person's message alone would lack the task."""
    spend = spending(settings, {})
    with session_scope(spend.url) as session:
        run = session.get(Run, spend.run_id)
        assert run is not None
        run.session_id = "s-earlier"
    kept = prepare_turn(settings, spend.task_id, spend.run_id, "code", message="Add tests")
    assert (kept.session_id, kept.prompt) == ("s-earlier", "Add tests")
    moved = prepare_turn(
        settings, spend.task_id, spend.run_id, "code", message="Add tests", resume=False
    )
    assert moved.session_id == ""
    assert "# Task: Spend" in moved.prompt and moved.prompt.rstrip().endswith("Add tests")
