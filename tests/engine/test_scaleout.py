"""Scale-out, for real: PostgreSQL, a standalone Temporal server, ``serve --no-worker`` and
workers with data directories of their own. A worker killed mid-turn or a Temporal outage
longer than the heartbeat timeout loses no task, and every task delivers the agent's work
exactly once: no line twice, no line a killed try left half-written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_TOKEN, git
from tests.support.process import ServeProcess
from tests.support.server import RunningServer
from tests.support.topology import Topology, postgres_base_url, topology, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not postgres_base_url(),
        reason="needs PostgreSQL: run under scripts/with-postgres (make test-postgres)",
    ),
]

HEARTBEAT = 2.0
MARKER = "scaleout-agent"
# Each turn writes half a line, holds, then ends the line: a try killed while it holds
# leaves the half behind in its checkout. Only the code stage holds, long enough for the
# test to kill a worker or stop Temporal while every task's code turn runs.
AGENT = f"""
name: halves
agent:
  kind: command
  command: |
    echo "{MARKER} $TASKYARD_STAGE begins"
    printf '%s turn %s:' "$TASKYARD_STAGE" "$TASKYARD_TURN" >> work.txt
    echo "{MARKER} $TASKYARD_STAGE half written"
    if [ "$TASKYARD_STAGE" = code ]; then sleep 5; fi
    echo ' done' >> work.txt
    echo "{MARKER} $TASKYARD_STAGE ends"
"""
WORKFLOW = {
    "name": "plan-code",
    "stages": [
        {"key": "plan", "agent": {}},
        {"key": "code", "agent": {}, "deliver": True},
        {"key": "done"},
    ],
}
# One line per turn, each once; the delivery makes one commit of them.
DELIVERED = "plan turn 0: done\ncode turn 0: done\n"


@pytest.fixture
def yard(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Iterator[Topology]:
    workers = getattr(request, "param", 2)
    with topology(
        tmp_path / "yard", database_url, ADMIN_TOKEN, workers, heartbeat_timeout=HEARTBEAT
    ) as running:
        yield running


@pytest.fixture
def api(yard: Topology) -> Iterator[RunningServer]:
    with yard.client() as http:
        view = yard.view(http)
        assert http.post("/api/v1/templates", content=AGENT).status_code == 201
        assert http.post("/api/v1/workflows", json=WORKFLOW).status_code == 201
        yield view


def create(api: RunningServer, repo: Path, count: int) -> list[str]:
    return [
        api.create_task(
            title=f"Scale out {i}", repository=str(repo), template="halves", workflow="plan-code"
        )["key"]
        for i in range(count)
    ]


def output(api: RunningServer, key: str) -> list[str]:
    """What the task's agent printed, every try's lines in order."""
    return [e["data"]["line"] for e in api.events(key) if e["kind"] == "output"]


def said(api: RunningServer, key: str, what: str) -> bool:
    return f"{MARKER} {what}" in output(api, key)


def all_said(api: RunningServer, keys: list[str], what: str, timeout: float = 90) -> None:
    wait_until(
        lambda: all(said(api, key, what) for key in keys), timeout, f"every task said {what!r}"
    )


def busiest(yard: Topology) -> ServeProcess:
    """The worker running the most agents right now (there must be one)."""
    victim = max(yard.workers, key=lambda worker: yard.running_agents(worker, MARKER))
    assert yard.running_agents(victim, MARKER), "no agent is running on any worker"
    return victim


def completed(yard: Topology, api: RunningServer, key: str) -> dict[str, Any]:
    try:
        return api.wait_for(key, "completed", timeout=120)
    except AssertionError as exc:
        lines = "\n".join(output(api, key)[-10:])
        raise AssertionError(f"{exc}\nthe agent's output:\n{lines}\n{yard.logs()}") from None


def assert_delivered_once(repo: Path, task: dict[str, Any]) -> None:
    branch = task["branch"]
    assert git("show", f"{branch}:work.txt", cwd=repo) == DELIVERED, task["key"]
    commits = git("rev-list", f"main..{branch}", cwd=repo).split()
    assert len(commits) == 1, f"{task['key']}: {len(commits)} commits, one delivery makes one"


def test_a_worker_killed_mid_turn_loses_no_task_and_repeats_no_work(
    yard: Topology, api: RunningServer, remote_repo: Path
) -> None:
    keys = create(api, remote_repo, 4)
    all_said(api, keys, "code half written")
    busiest(yard).kill()

    for key in keys:
        assert_delivered_once(remote_repo, completed(yard, api, key))


def test_a_temporal_outage_longer_than_the_heartbeat_timeout_delivers_each_task_once(
    yard: Topology, api: RunningServer, remote_repo: Path
) -> None:
    keys = create(api, remote_repo, 3)
    all_said(api, keys, "code half written")
    yard.stop_temporal()
    away = time.monotonic()
    # The turns end while Temporal is away (their output goes to the database), so
    # their results wait for it; it stays away well past the heartbeat timeout.
    all_said(api, keys, "code ends", timeout=30)
    wait_until(lambda: time.monotonic() > away + 3 * HEARTBEAT, 30, "the outage lasted")
    yard.start_temporal()

    for key in keys:
        assert_delivered_once(remote_repo, completed(yard, api, key))
        # Each turn ended before the outage did: recorded once, never run again.
        assert output(api, key).count(f"{MARKER} code begins") == 1, key


@pytest.mark.parametrize("yard", [1, 2], indirect=True, ids=["one-worker", "two-workers"])
def test_a_killed_trys_partial_edits_never_reach_the_delivered_branch(
    yard: Topology, api: RunningServer, remote_repo: Path
) -> None:
    (key,) = create(api, remote_repo, 1)
    all_said(api, [key], "code half written")
    victim = busiest(yard)
    victim.kill()
    # The host comes back with its disk as the killed try left it; the retried turn may
    # land on it (with one worker it must) or on the other.
    victim.start()

    assert_delivered_once(remote_repo, completed(yard, api, key))
