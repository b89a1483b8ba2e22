"""Per-team limits on agent runs at once, on real Temporal and a real database.

The agent is a command that says it started, then waits for its task's file to
appear: a test lets each run end when it chooses. A run that finds another one of
its team running (the ``running`` directory taken) says so, and the tests look.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_signals import push
from tests.support.server import RunningServer

# Writing "fail" into the task's file makes the agent fail.
AGENT = """
mkdir {gates}/running-$LOCK 2>/dev/null || echo overlap >> {gates}/overlaps
echo "$TASKYARD_TASK" >> {gates}/started
while [ ! -e {gates}/$TASKYARD_TASK ]; do sleep 0.05; done
rmdir {gates}/running-$LOCK
[ "$(cat {gates}/$TASKYARD_TASK)" != fail ] || exit 1
echo done
"""


class Gates:
    """Where the agents say they started, and where a test lets each one end."""

    def __init__(self, server: RunningServer, directory: Path) -> None:
        self.server, self.dir = server, directory
        directory.mkdir()

    def started(self) -> list[str]:
        path = self.dir / "started"
        return path.read_text().split() if path.exists() else []

    def wait_started(self, key: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while key not in self.started():
            assert time.monotonic() < deadline, f"{key} never started: {self.server.task(key)}"
            time.sleep(0.05)

    def open(self, key: str, content: str = "ok") -> None:
        (self.dir / key).write_text(content)

    def overlaps(self) -> str:
        path = self.dir / "overlaps"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def gates(server: RunningServer, tmp_path: Path) -> Gates:
    return Gates(server, tmp_path / "gates")


def team_setup(
    server: RunningServer, gates: Gates, team: str, gate: str = "auto", *, one: bool = True
) -> None:
    """A one-stage workflow and the waiting agent for ``team``; with ``one``, its agents
    note any run of another task of the team beside theirs."""
    stages = [{"key": "code", "agent": {}, "gate": gate}, {"key": "done"}]
    body = {"name": "one", "team": team, "stages": stages, "default": True}
    assert server.http.post("/api/v1/workflows", json=body).status_code == 201
    lock = team if one else "$TASKYARD_TASK"
    command = f"LOCK={lock}\n" + AGENT.format(gates=gates.dir)
    push(server, f"wait-{team.lower()}", command)


def create(server: RunningServer, repo: Path, team: str = "TY") -> str:
    task = server.create_task(
        title="Wait", repository=str(repo), template=f"wait-{team.lower()}", team=team
    )
    return str(task["key"])


def set_limit(server: RunningServer, team: str, limit: int | None) -> None:
    response = server.http.patch(f"/api/v1/teams/{team}", json={"max_running": limit})
    assert response.status_code == 200, response.text


def wait_queued(server: RunningServer, key: str, ahead: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = server.task(key)
        if (task["status"], task["status_message"]) == ("queued", f"queued: {ahead} ahead of you"):
            return task
        assert time.monotonic() < deadline, f"{key} not {ahead} ahead: {task}"
        time.sleep(0.05)


def queue_messages(server: RunningServer, key: str) -> list[str]:
    return [
        e["data"]["message"]
        for e in server.events(key)
        if e["kind"] == "status" and e["data"]["status"] == "queued" and e["data"]["message"]
    ]


def line_of_three(server: RunningServer, gates: Gates, repo: Path) -> tuple[str, str, str]:
    """Team TY limited to one: a task running, two in line behind it."""
    team_setup(server, gates, "TY")
    set_limit(server, "TY", 1)
    running = create(server, repo)
    gates.wait_started(running)
    second, third = create(server, repo), create(server, repo)
    wait_queued(server, second, 0)
    wait_queued(server, third, 1)
    return running, second, third


def test_a_team_limited_to_one_runs_its_tasks_one_at_a_time_in_order(
    server: RunningServer, gates: Gates, remote_repo: Path
) -> None:
    first, second, third = line_of_three(server, gates, remote_repo)
    team = server.http.get("/api/v1/teams/TY").json()
    assert (team["limit"], team["running"], team["queued"]) == (1, 1, 2)
    assert server.task(first)["status"] == "working"  # never evicted

    gates.open(first)
    server.wait_for(first, "completed")
    gates.wait_started(second)
    wait_queued(server, third, 0)
    assert gates.started() == [first, second]

    gates.open(second)
    gates.wait_started(third)
    gates.open(third)
    server.wait_for(third, "completed")
    assert server.task(second)["status"] == "completed"
    assert gates.started() == [first, second, third]
    assert gates.overlaps() == ""
    assert queue_messages(server, third) == ["queued: 1 ahead of you", "queued: 0 ahead of you"]
    assert queue_messages(server, first) == []
    team = server.http.get("/api/v1/teams/TY").json()
    assert (team["running"], team["queued"]) == (0, 0)


def test_cancelled_and_failed_tasks_leave_the_line_and_free_their_slots(
    server: RunningServer, gates: Gates, remote_repo: Path
) -> None:
    running, leaving, waiting = line_of_three(server, gates, remote_repo)

    # A queued task cancelled leaves the line: the one behind it moves up.
    assert server.http.post(f"/api/v1/tasks/{leaving}/cancel").status_code == 202
    server.wait_for(leaving, "cancelled")
    wait_queued(server, waiting, 0)

    # A running task cancelled frees its slot.
    assert server.http.post(f"/api/v1/tasks/{running}/cancel").status_code == 202
    server.wait_for(running, "cancelled")
    gates.wait_started(waiting)

    # ... and so does one that fails.
    after = create(server, remote_repo)
    wait_queued(server, after, 0)
    gates.open(waiting, "fail")
    server.wait_for(waiting, "failed")
    gates.wait_started(after)
    gates.open(after)
    server.wait_for(after, "completed")
    assert gates.started() == [running, waiting, after]  # the cancelled one never ran


def test_waiting_for_approval_holds_no_slot_and_limits_are_per_team(
    server: RunningServer, gates: Gates, remote_repo: Path
) -> None:
    team_setup(server, gates, "TY", gate="approval")
    assert server.http.post("/api/v1/teams", json={"key": "OPS"}).status_code == 201
    team_setup(server, gates, "OPS", one=False)
    set_limit(server, "TY", 1)

    gated = create(server, remote_repo)
    gates.wait_started(gated)
    others = [create(server, remote_repo, "OPS") for _ in range(2)]
    # Another team is not held up, and has no limit by default: both run at once.
    for key in others:
        gates.wait_started(key)
    assert server.http.get("/api/v1/teams/OPS").json()["running"] == 2

    gates.open(gated)
    server.wait_for(gated, "waiting")
    behind = create(server, remote_repo)
    gates.wait_started(behind)  # the task at its gate left its slot
    assert queue_messages(server, behind) == []
    for key in [*others, behind]:
        gates.open(key)
    for key in others:
        server.wait_for(key, "completed")
    server.wait_for(behind, "waiting")
    assert gates.overlaps() == ""
