"""A crash of the whole server (kill -9) mid-task loses nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskyard.config import Settings
from tests.conftest import ADMIN_TOKEN, git
from tests.support.process import ServeProcess
from tests.support.server import RunningServer

pytestmark = pytest.mark.slow

SLOW_AGENT = """
name: slow
sandbox: none
agent:
  kind: command
  command: |
    echo "started pid $$"
    sleep 2
    echo "finished" > result.txt
"""


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    # On SQLite, the key generated in the data dir, as on one machine; a database
    # server is shared, and every process sharing it needs the same key.
    shared_key = "" if database_url.startswith("sqlite") else "test-secret-key"
    process = ServeProcess(
        tmp_path / "data",
        {
            "TASKYARD_SECRET_KEY": shared_key,
            "TASKYARD_DATABASE_URL": database_url,
            "TASKYARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "TASKYARD_HEARTBEAT_TIMEOUT": "2",
            "TASKYARD_ALLOW_UNSANDBOXED": "true",
            "TASKYARD_TEMPORAL_ADDRESS": "",
            "TASKYARD_LOCAL_REPOSITORY_ROOTS": str(tmp_path),
        },
    )
    yield process
    process.stop()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_task_completes_after_server_is_killed_mid_run(
    serve: ServeProcess, remote_repo: Path, tmp_path: Path
) -> None:
    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        assert http.post("/api/v1/templates", content=SLOW_AGENT).status_code == 201
        workflow = {
            "name": "ship",
            "stages": [{"key": "code", "agent": {}, "deliver": True}, {"key": "done"}],
        }
        assert http.post("/api/v1/workflows", json=workflow).status_code == 201
        response = http.post(
            "/api/v1/tasks",
            json={
                "title": "Survive a crash",
                "repository": str(remote_repo),
                "template": "slow",
                "workflow": "ship",
            },
        )
        assert response.status_code == 201, response.text
        key = response.json()["key"]
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        started = _wait_for_output(view, key, "started pid ")
        agent_pid = int(started.split()[-1])

    serve.kill()
    # The kernel tears the sandbox down (its parent-death signal) as the server dies:
    # soon, not in the same instant.
    deadline = time.monotonic() + 10
    while _pid_alive(agent_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(agent_pid), "the agent must die with the server"

    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        task = view.wait_for(key, "completed", timeout=90)
    assert task["pull_requests"][0]["files_changed"] == 1
    assert git("show", f"{task['branch']}:result.txt", cwd=remote_repo) == "finished\n"


def _wait_for_output(view: RunningServer, key: str, prefix: str) -> str:
    """Follow the live stream until the agent prints a line starting with ``prefix``."""
    import json

    with view.http.stream(
        "GET", f"/api/v1/tasks/{key}/events", headers={"Accept": "text/event-stream"}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event["kind"] == "output" and event["data"]["line"].startswith(prefix):
                    return str(event["data"]["line"])
    raise AssertionError(f"{key} never printed {prefix!r}")


def _agent_starts(view: RunningServer, key: str) -> list[str]:
    """Each time the agent started, as it said so."""
    lines = [e["data"]["line"] for e in view.events(key) if e["kind"] == "output"]
    return [line for line in lines if line.startswith("started pid ")]


def test_sigterm_lets_the_running_turn_finish_and_nothing_runs_twice(
    serve: ServeProcess, remote_repo: Path, tmp_path: Path
) -> None:
    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        assert http.post("/api/v1/templates", content=SLOW_AGENT).status_code == 201
        workflow = {"name": "ship", "stages": [{"key": "code", "agent": {}, "deliver": True}]}
        assert http.post("/api/v1/workflows", json=workflow).status_code == 201
        body = {"title": "Drain", "repository": str(remote_repo), "template": "slow"}
        key = http.post("/api/v1/tasks", json={**body, "workflow": "ship"}).json()["key"]
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        _wait_for_output(view, key, "started pid ")

    # The agent sleeps 2 s; the worker's grace (TASKYARD_WORKER_SHUTDOWN_SECONDS) is 5 s.
    assert serve.terminate() == 0
    checkout = tmp_path / "data" / "checkouts" / "1" / key
    assert (checkout / "result.txt").read_text() == "finished\n"  # the turn ran to its end

    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        task = view.wait_for(key, "completed", timeout=90)
        starts = _agent_starts(view, key)
    assert len(starts) == 1  # finished during the drain: never run again
    assert task["pull_requests"][0]["files_changed"] == 1


# The plan stage leaves plan.txt (its turn is checkpointed); the code stage writes a
# line, and is killed before it writes the next.
TWO_STAGES = """
name: twostage
sandbox: none
agent:
  kind: command
  command: |
    if [ ! -e plan.txt ]; then echo planned > plan.txt; exit 0; fi
    echo "start" >> work.txt
    echo "started pid $$"
    sleep 2
    echo "done" >> work.txt
"""


def test_a_killed_tries_edits_never_reach_the_delivered_branch(
    serve: ServeProcess, remote_repo: Path, tmp_path: Path
) -> None:
    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        assert http.post("/api/v1/templates", content=TWO_STAGES).status_code == 201
        stages = [{"key": "plan", "agent": {}}, {"key": "code", "agent": {}, "deliver": True}]
        workflow = {"name": "ship", "stages": stages}
        assert http.post("/api/v1/workflows", json=workflow).status_code == 201
        body = {"title": "Clean retry", "repository": str(remote_repo), "template": "twostage"}
        key = http.post("/api/v1/tasks", json={**body, "workflow": "ship"}).json()["key"]
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        _wait_for_output(view, key, "started pid ")
    checkout = tmp_path / "data" / "checkouts" / "1" / key
    assert (checkout / "work.txt").read_text() == "start\n"  # the try's partial edit

    serve.kill()
    serve.start()
    with serve.client(ADMIN_TOKEN) as http:
        view = RunningServer(serve.url, Settings(data_dir=tmp_path), http, None)  # type: ignore[arg-type]
        task = view.wait_for(key, "completed", timeout=90)
        starts = _agent_starts(view, key)
    assert len(starts) == 2  # the killed try, and the retry
    branch = task["branch"]
    # The retry started from the plan stage's checkpoint: the killed try's line is gone.
    assert git("show", f"{branch}:work.txt", cwd=remote_repo) == "start\ndone\n"
    assert git("show", f"{branch}:plan.txt", cwd=remote_repo) == "planned\n"
    assert git("rev-list", "--count", f"main..{branch}", cwd=remote_repo).strip() == "1"
