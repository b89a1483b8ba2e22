"""People acting on running tasks: cancel, messages mid-turn, concurrent creation."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer

ONE_STAGE = {"name": "one", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}


def push(server: RunningServer, name: str, command: str) -> str:
    body = f"name: {name}\nsandbox: none\nagent:\n  kind: command\n  command: |\n"
    body += "".join(f"    {line}\n" for line in command.strip().splitlines())
    response = server.http.post("/api/v1/templates", content=body)
    assert response.status_code == 201, response.text
    return name


def wait_output(server: RunningServer, key: str, prefix: str) -> str:
    with server.http.stream(
        "GET", f"/api/v1/tasks/{key}/events", headers={"Accept": "text/event-stream"}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event["kind"] == "output" and event["data"]["line"].startswith(prefix):
                    return str(event["data"]["line"])
    raise AssertionError(f"no output {prefix!r}")


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] not in ("Z", "X")


def test_cancel_stops_the_task_and_kills_its_processes(
    server: RunningServer, remote_repo: Path, one_stage: str
) -> None:
    template = push(server, "forever", 'sleep 1000 &\necho "pids $$ $!"\nwait')
    key = server.create_task(
        title="Never ends", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    pids = [int(p) for p in wait_output(server, key, "pids ").split()[1:]]
    assert all(alive(p) for p in pids)

    assert server.http.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
    task = server.wait_for(key, "cancelled")
    assert task["status_message"] == "Cancelled by admin"
    assert not any(alive(p) for p in pids), "cancel must kill the whole process tree"
    assert server.http.post(f"/api/v1/tasks/{key}/approve").status_code == 409
    # One story: the agent's state says what the status says, once.
    assert (task["agent_state"], task["agent_message"]) == ("cancelled", "Cancelled by admin")
    states = [e["data"] for e in server.events(key) if e["kind"] == "agent"]
    assert states[-1] == {"type": "state", "state": "cancelled", "message": "Cancelled by admin"}
    assert not [s for s in states if "exited with code" in s.get("message", "")]


def test_cancel_at_a_gate_settles_the_agents_state(
    server: RunningServer, remote_repo: Path
) -> None:
    gated = {"name": "gated", "stages": [{"key": "code", "agent": {}, "gate": "approval"}]}
    assert server.http.post("/api/v1/workflows", json=gated).status_code == 201
    template = push(server, "quick", "echo done")
    key = server.create_task(
        title="Gate", repository=str(remote_repo), template=template, workflow="gated"
    )["key"]
    assert server.wait_for(key, "waiting")["agent_state"] == "complete"
    assert server.http.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
    task = server.wait_for(key, "cancelled")
    assert (task["agent_state"], task["agent_message"]) == ("cancelled", "Cancelled by admin")


def test_message_sent_mid_turn_is_queued_and_delivered_next(
    server: RunningServer, remote_repo: Path, one_stage: str, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    template = push(
        server,
        "chatty",
        f"""
if [ "$TASKYARD_TURN" = 0 ]; then
  echo "first turn"
  while [ ! -e {gate} ]; do sleep 0.05; done
else
  echo "turn $TASKYARD_TURN got: $TASKYARD_PROMPT"
fi
""",
    )
    key = server.create_task(
        title="Chat", repository=str(remote_repo), template=template, workflow=one_stage
    )["key"]
    wait_output(server, key, "first turn")
    response = server.http.post(f"/api/v1/tasks/{key}/messages", json={"text": "also add docs"})
    assert response.status_code == 202
    assert server.task(key)["live"]["queued_messages"] == 1
    gate.touch()

    server.wait_for(key, "completed")
    lines = [e["data"]["line"] for e in server.events(key) if e["kind"] == "output"]
    assert lines == ["first turn", "turn 1 got: also add docs"]
    messages = [e["data"] for e in server.events(key) if e["kind"] == "message"]
    assert messages == [{"text": "also add docs", "by": "admin"}]


def test_keys_stay_unique_under_concurrent_creation(server: RunningServer) -> None:
    def create(i: int) -> str:
        with httpx.Client(
            base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as http:
            response = http.post(
                "/api/v1/tasks",
                json={"title": "Same title", "repository": "acme/shop", "run": False},
            )
            assert response.status_code == 201, response.text
            return f"{response.json()['key']} {response.json()['slug']}"

    count = 24
    with ThreadPoolExecutor(max_workers=12) as pool:
        created = list(pool.map(create, range(count)))
    keys = {c.split()[0] for c in created}
    slugs = {c.split()[1] for c in created}
    assert keys == {f"TY-{n}" for n in range(1, count + 1)}
    assert len(slugs) == count


def test_unknown_stage_for_request_changes(server: RunningServer, remote_repo: Path) -> None:
    assert os.path.isdir(remote_repo)
    key = server.create_task(title="t", repository="acme/shop", run=False)["key"]
    response = server.http.post(f"/api/v1/tasks/{key}/request-changes", json={"text": "x"})
    assert response.status_code == 409  # not started


def test_request_changes_records_the_stage_the_task_goes_back_to(
    server: RunningServer, remote_repo: Path
) -> None:
    template = push(server, "writer", 'echo "$TASKYARD_STAGE" >> stages.txt')
    key = server.create_task(title="Write", repository=str(remote_repo), template=template)["key"]
    server.wait_for(key, "waiting", stage="plan")
    mark = server.last_event_id(key)
    assert server.http.post(f"/api/v1/tasks/{key}/approve").status_code == 202
    server.wait_for(key, "waiting", stage="review", after=mark)

    # The review gate sends changes back to code (its request_changes_to), not to review.
    mark = server.last_event_id(key)
    response = server.http.post(f"/api/v1/tasks/{key}/request-changes", json={"text": "again"})
    assert response.status_code == 202
    server.wait_for(key, "waiting", stage="review", after=mark)
    (requested,) = [e["data"] for e in server.events(key) if e["kind"] == "request_changes"]
    assert (requested["stage"], requested["to"]) == ("review", "code")
    stages = [e["data"]["stage"] for e in server.events(key) if e["kind"] == "stage"]
    assert stages[-3:] == ["review", "code", "review"]
    assert server.http.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
    server.wait_for(key, "cancelled")
