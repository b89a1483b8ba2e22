"""A task's turn prepares its own workspace: no step of its own before the agent.

The first turn of a task with no workspace yet runs on any worker (the shared task
queue), makes the checkout there (the template's setup included), and that worker
becomes the task's home: later turns and the delivery go to its own queue. The task
still says ``provisioning`` until the workspace is ready.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from taskyard.config import Settings
from taskyard.engine.home import home_queue
from taskyard.engine.workflow import CURRENT
from taskyard.workspaces import pool_gate
from tests.support.history import attempts, local_steps, patches
from tests.support.server import RunningServer
from tests.support.topology import wait_until

GATED = {
    "name": "gated",
    "stages": [{"key": "code", "agent": {}, "gate": "approval", "deliver": True}, {"key": "done"}],
}
TEMPLATE = """
name: prepared
sandbox: none
setup: echo setting up; touch .setup-ran
agent:
  kind: command
  command: test -e .setup-ran && echo "turn $TASKYARD_TURN" >> notes.txt && echo wrote
"""


def test_the_first_turn_prepares_the_workspace_and_makes_its_worker_the_home(
    server: RunningServer, remote_repo: Path, settings: Settings
) -> None:
    assert server.http.post("/api/v1/workflows", json=GATED).status_code == 201
    assert server.http.post("/api/v1/templates", content=TEMPLATE).status_code == 201
    key = server.create_task(
        title="Prepared", repository=str(remote_repo), template="prepared", workflow="gated"
    )["key"]
    server.wait_for(key, "waiting")
    last = server.events(key)[-1]["id"]
    said = server.http.post(f"/api/v1/tasks/{key}/messages", json={"text": "once more"})
    assert said.status_code == 202
    server.wait_for(key, "waiting", after=last)  # its message's run has ended
    assert server.http.post(f"/api/v1/tasks/{key}/approve").status_code == 202
    server.wait_for(key, "completed")

    tried = [(a.activity, a.queue) for a in asyncio.run(attempts(settings, key))]
    shared, home = settings.task_queue, home_queue(settings)
    assert tried == [
        ("run_first_turn", shared),  # no workspace yet: any worker, which prepares it
        ("deliver", home),
        ("run_first_turn", home),  # the message's run, where the checkout is
        ("deliver", home),
        ("mark_ready", shared),
    ]
    # Its stages came with its start (the API had them at hand): no step read them.
    assert "load_plan" not in asyncio.run(local_steps(settings, key))
    # A new run records one patch for every change up to then, not one each.
    assert asyncio.run(patches(settings, key)) == [CURRENT]
    # `provisioning` until the workspace is ready: the setup ran before `working`.
    story = [
        e["data"].get("line") or f"{e['data']['status']}: {e['data']['message']}"
        for e in server.events(key)
        if e["kind"] in ("setup", "status")
    ][:6]
    assert story == [
        "queued: ",
        "working: Entered Code",
        "provisioning: Preparing workspace for Code",
        "setting up",
        "working: Code: agent working",
        "waiting: Code: waiting for approval",
    ]
    # Each run's turn ran once, in the one checkout: a line each on the branch.
    notes = server.http.get(f"/api/v1/tasks/{key}/diff").text
    assert "+turn 0\n+turn 0\n" in notes and "+turn 0\n+turn 0\n+" not in notes


GATED_SETUP = """
name: gated-setup
sandbox: none
setup: echo setting up; until [ -e "$HOME/go" ]; do sleep 0.02; done
agent:
  kind: command
  command: echo started; until [ -e "$HOME/stop" ]; do sleep 0.02; done
"""


def test_the_pools_refills_wait_while_a_turn_is_on_its_way_to_its_agent(
    server: RunningServer, remote_repo: Path
) -> None:
    assert server.http.post("/api/v1/templates", content=GATED_SETUP).status_code == 201
    key = server.create_task(title="Gated", repository=str(remote_repo), template="gated-setup")[
        "key"
    ]
    home = server.settings.data_dir / "homes" / "1" / key

    def said(line: str) -> bool:
        return any(e["data"].get("line") == line for e in server.events(key))

    # Its workspace is being set up: the task is on its way, and a refill would wait.
    wait_until(lambda: said("setting up"), 30, "the setup's first line")
    assert not pool_gate.wait_for_quiet(0)
    (home / "go").touch()
    # Its agent has started: refills go ahead while it works.
    wait_until(lambda: said("started"), 30, "the agent's first line")
    assert pool_gate.wait_for_quiet(0)
    (home / "stop").touch()
    server.wait_for(key, "waiting")  # the Plan's approval
