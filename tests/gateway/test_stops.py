"""Stops with the real Claude Code and Codex CLIs, looping forever against scripted APIs.

Each agent runs a command that appends a timestamp to the checkout, asks its model
again, and so on without end; every stop must end that at once. Measured from the
moment the stop holds (the cancel's answer; for a budget or a time limit, the moment
it was recorded on the task): at most one further model call reaches the API, no
checkout write lands more than a second later, and the sandbox's whole process tree
is gone within a second. The task's usage is what the API billed, to the token, and
its agent state, status and events tell one story. Budget overshoots are printed
(``pytest -s`` shows them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.model.prices import Usage, cost_of, price_of
from tests.agents.harness import pinned
from tests.fakes import ScriptedServer, Step, call, say
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import OpenAIServer
from tests.support.process import descendants, is_export, is_pool_refill
from tests.support.server import RunningServer

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed"),
    pytest.mark.timeout(300),
]

TICK = "date +%s.%N >> ticks.txt"
ONE_STAGE = {"name": "one", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
KILL_WITHIN = 1.0  # seconds from the stop to the last process of the tree gone
WRITES_WITHIN = 1.0  # seconds from the stop to the last write in the checkout


@dataclass(frozen=True)
class Cli:
    kind: str
    version: str
    model: str
    provider: str
    loop: Step  # what the model answers, forever: run the tick command again


CLIS = {
    "claude-code": Cli(
        "claude-code",
        pinned("claude-code"),
        "claude-sonnet-4-5",
        "anthropic",
        call("Bash", command=TICK, description="Tick"),
    ),
    "codex": Cli("codex", pinned("codex"), "gpt-4.1", "openai", call("exec_command", cmd=TICK)),
}


def is_server_work(pid: int) -> bool:
    return is_export(pid) or is_pool_refill(pid)


class ProcessWatch:
    """Samples the processes this test process starts (the server runs in it) every 10 ms.

    A scan of ``/proc`` takes a while on a busy machine, so both bounds are kept:
    ``alive_at``, when the last scan that still saw one of them began (one was alive
    then or later), and ``gone_at``, when the first scan that saw none ended (all were
    gone by then): the agent's tree. The export that publishes the task's diff after the
    turn is the worker's, not the agent's, and is kept apart: ``export_alive_at`` is when
    one was last seen (the task must not read as ended before it is over either). The
    pool's refills after a claim are the worker's too, and may run after the task ended.
    """

    def __init__(self) -> None:
        self.baseline = descendants(os.getpid())  # the Temporal dev server, say
        self.seen: set[tuple[int, str]] = set()
        self.alive_at = 0.0
        self.export_alive_at = 0.0
        self.gone_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.time()
            server_work: set[tuple[int, str]] = set()
            alive = descendants(os.getpid(), is_server_work, server_work) - self.baseline
            if any(is_export(pid) for pid, _ in server_work):
                self.export_alive_at = began
            self.seen |= alive
            if alive:
                self.alive_at, self.gone_at = began, None
            elif self.seen and self.gone_at is None:
                self.gone_at = time.time()
            time.sleep(0.01)

    def gone_by(self, deadline: float) -> float:
        """When the tree was gone, once it is (fails at ``deadline``)."""
        while self.gone_at is None:
            assert time.time() < deadline, "the agent's processes are still running"
            time.sleep(0.02)
        return self.gone_at

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def watch() -> Iterator[ProcessWatch]:
    running = ProcessWatch()
    yield running
    running.close()


@pytest.fixture(params=list(CLIS))
def cli(request: pytest.FixtureRequest) -> Cli:
    return CLIS[request.param]


@pytest.fixture
def fake(cli: Cli, anthropic: AnthropicServer, openai: OpenAIServer) -> ScriptedServer:
    server: ScriptedServer = anthropic if cli.provider == "anthropic" else openai
    server.forever = cli.loop
    return server


def start_looping(
    server: RunningServer, cli: Cli, remote: Path, **blocks: dict[str, Any]
) -> tuple[str, Path]:
    """Start the looping agent under ``blocks`` (``budget=…``, ``limits=…``); key, ticks."""
    body = f"name: loop\nagent:\n  kind: {cli.kind}\n  version: '{cli.version}'\n"
    body += f"  model: {cli.model}\n"
    body += "".join(f"{key}: {json.dumps(value)}\n" for key, value in blocks.items())
    assert server.http.post("/api/v1/templates", content=body).status_code == 201
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    task = server.create_task(title="Loop", repository=str(remote), template="loop", workflow="one")
    return task["key"], server.settings.checkouts_dir / "1" / task["key"] / "ticks.txt"


def ticks_of(path: Path) -> list[float]:
    """The agent's writes so far (a line being written as we read is left for later)."""
    if not path.exists():
        return []
    return [float(t) for t in path.read_text().splitlines() if t.count(".") == 1]


def wait_ticking(path: Path, count: int = 3, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while len(ticks_of(path)) < count:
        assert time.time() < deadline, "the agent never got looping"
        time.sleep(0.05)


def stop_moment(server: RunningServer, key: str) -> tuple[float, str]:
    """When the task's stop was recorded, and why."""
    with session_scope(server.settings.resolved_database_url) as session:
        task = session.query(Task).filter_by(key=key).one()
        at = task.stop_requested_at
        assert at is not None, "no stop recorded"
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        return at.timestamp(), task.stop_reason


def assert_one_story(
    server: RunningServer,
    fake: ScriptedServer,
    key: str,
    ticks: Path,
    watch: ProcessWatch,
    since: float,
    state: tuple[str, str],
) -> dict[str, Any]:
    """Everything a stop at ``since`` promises; returns the task."""
    gone = watch.gone_by(since + 30)
    task = server.task(key)
    events = server.events(key)
    late_calls = [r for r in fake.requests if r.at > since]
    late_writes = [t for t in ticks_of(ticks) if t > since + WRITES_WITHIN]
    last_write = max(ticks_of(ticks), default=since) - since
    print(
        f"\n{key}: stopped ({task['status_message']}); tree gone {gone - since:+.3f} s, "
        f"{len(late_calls)} call(s) after the stop, last write {last_write:+.3f} s"
    )
    assert len(late_calls) <= 1, late_calls
    assert not late_writes, f"{len(late_writes)} write(s) after the stop + {WRITES_WITHIN} s"
    assert gone - since <= KILL_WITHIN, f"tree gone {gone - since:.3f} s after the stop"
    [final] = [e for e in events if e["kind"] == "status" and e["data"]["status"] == task["status"]]
    ended = dt.datetime.fromisoformat(final["created_at"])
    ended = ended if ended.tzinfo else ended.replace(tzinfo=dt.UTC)
    assert watch.alive_at <= ended.timestamp(), "the task read as ended with a process alive"
    assert watch.export_alive_at <= ended.timestamp(), "the task read as ended mid-export"
    # One story: the last agent state is the stop, the task shows it, no bare exit code.
    states = [e["data"] for e in events if e["kind"] == "agent" and e["data"]["type"] == "state"]
    assert (states[-1]["state"], states[-1]["message"]) == state
    assert (task["agent_state"], task["agent_message"]) == state
    told = [str(e["data"].get("message", "")) for e in events if e["kind"] == "agent"]
    assert not [m for m in told if "-9" in m or "exited with code" in m], told
    assert sum(1 for s in states if s["message"] == state[1]) == 1
    # The books: what the API billed, to the token (the killed turn included). The stopped
    # call's stream may be cut before its closing usage reached the gateway; it is then
    # booked for the running count the stream had reported (Anthropic's opening one).
    booked = (task["input_tokens"], task["output_tokens"])
    whole = (
        sum(r.input_tokens for r in fake.requests),
        sum(r.output_tokens for r in fake.requests),
    )
    cut = whole[1] - fake.requests[-1].output_tokens
    assert booked == whole or (booked[0] == whole[0] and cut < booked[1] < whole[1]), (
        booked,
        whole,
    )
    return task


def test_cancel_stops_the_agent_at_once_and_books_what_was_billed(
    e2e: RunningServer,
    cli: Cli,
    fake: ScriptedServer,
    watch: ProcessWatch,
    remote_repo: Path,
) -> None:
    key, ticks = start_looping(e2e, cli, remote_repo)
    wait_ticking(ticks)
    assert e2e.http.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
    answered = time.time()
    e2e.wait_for(key, "cancelled")
    task = assert_one_story(
        e2e, fake, key, ticks, watch, answered, ("cancelled", "Cancelled by admin")
    )
    assert task["status_message"] == "Cancelled by admin"
    # Each call's usage is an event with its cost from the price table; they add up.
    booked = [e["data"] for e in e2e.events(key) if e["kind"] == "usage"]
    assert len(booked) == len([r for r in fake.requests if r.input_tokens])
    price = price_of(cli.provider, cli.model)
    assert price is not None
    main = [b for b in booked if b["model"] == cli.model]
    for b in main:
        billed = Usage(b["input_tokens"], 0, 0, b["output_tokens"])
        assert b["cost_usd"] == pytest.approx(cost_of(billed, price))
    assert task["cost_usd"] == pytest.approx(sum(b["cost_usd"] for b in booked))


# 15 s: a real agent CLI on a loaded machine has made its first model calls by then (in 9 s it
# sometimes had not, and the stop had nothing to cut short).
@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ({"limits": {"timeout_minutes": 0.25}}, "timeout_minutes: turn ran out of time"),
        ({"budget": {"max_minutes": 0.25}}, "max_minutes: turn ran out of time"),
        ({"budget": {"max_tokens": 1450}}, "max_tokens (1450)"),
        ({"budget": {"max_cost_usd": 0.005}}, "max_cost_usd (0.005)"),
    ],
    ids=["timeout", "max_minutes", "max_tokens", "max_cost_usd"],
)
def test_budgets_and_limits_stop_the_agent_at_once(
    e2e: RunningServer,
    cli: Cli,
    fake: ScriptedServer,
    watch: ProcessWatch,
    remote_repo: Path,
    blocks: dict[str, Any],
    reason: str,
) -> None:
    key, ticks = start_looping(e2e, cli, remote_repo, **blocks)
    task = e2e.wait_for(key, "failed", timeout=120)
    since, recorded = stop_moment(e2e, key)
    assert recorded == reason
    assert task["status_message"] == f"Budget reached: {reason}"
    task = assert_one_story(e2e, fake, key, ticks, watch, since, ("failure", f"Stopped: {reason}"))
    budget = blocks.get("budget", {})
    if "max_tokens" in budget:
        tokens = task["input_tokens"] + task["output_tokens"]
        print(f"max_tokens {budget['max_tokens']}: {tokens - budget['max_tokens']} tokens over")
    if "max_cost_usd" in budget:
        over = task["cost_usd"] - budget["max_cost_usd"]
        print(f"max_cost_usd ${budget['max_cost_usd']}: ${over:.6f} over")


def test_max_turns_refuses_the_next_turn_before_any_call(
    e2e: RunningServer, cli: Cli, fake: ScriptedServer, remote_repo: Path
) -> None:
    fake.forever = None
    fake.script = [say("Done."), say("Done.")]
    body = f"name: once\nagent:\n  kind: {cli.kind}\n  version: '{cli.version}'\n"
    body += f"  model: {cli.model}\nbudget: {{max_turns: 1}}\n"
    assert e2e.http.post("/api/v1/templates", content=body).status_code == 201
    key = e2e.create_task(
        title="Once", repository=str(remote_repo), template="once", workflow="gated"
    )["key"]
    e2e.wait_for(key, "waiting", timeout=120)
    calls = len(fake.requests)
    assert e2e.http.post(f"/api/v1/tasks/{key}/messages", json={"text": "more"}).is_success
    task = e2e.wait_for(key, "failed")
    assert task["status_message"] == "Budget reached: max_turns (1)"
    print(f"\nmax_turns 1: {len(fake.requests) - calls} call(s) after the limit")
    assert len(fake.requests) == calls, "the refused turn made no model call"
    states = [e["data"] for e in e2e.events(key) if e["kind"] == "agent"][-3:]
    told = (task["agent_state"], task["agent_message"])
    assert told == ("failure", "Stopped: max_turns (1)"), states
