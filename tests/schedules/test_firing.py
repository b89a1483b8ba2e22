"""A schedule fires on its cron, on time, through Temporal, and skips while its last
task is open."""

from __future__ import annotations

from pathlib import Path

from tests.schedules.conftest import poll, runs, schedule_body, when
from tests.support.server import RunningServer


def test_fires_on_time_and_skips_while_the_last_task_is_open(
    server: RunningServer, waiting: str, remote_repo: Path
) -> None:
    body = schedule_body("chores", remote_repo, waiting)
    created = server.http.post("/api/v1/schedules", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["overlap"] == "skip"

    # The first fire makes a task; it waits for approval of its plan, so it stays open.
    first = poll(lambda: [r for r in runs(server, "chores") if r["outcome"] == "created"], "a run")
    run = first[-1]
    fired_at = when(run["fired_at"])
    # On time: at a whole even second, as the cron says, and the task made at once.
    assert fired_at.second % 2 == 0 and fired_at.microsecond == 0
    task = server.task(run["task"])
    assert 0 <= (when(task["created_at"]) - fired_at).total_seconds() < 5
    assert task["origin"] == "schedule"
    assert task["origin_context"]["schedule"] == "chores"
    assert when(task["origin_context"]["fired_at"]) == fired_at
    assert task["title"] == "Chore chores"
    server.wait_for(run["task"], "waiting")

    # Later fires find that task open: skipped, with the reason; no second task.
    skipped = poll(
        lambda: [r for r in runs(server, "chores") if r["outcome"] == "skipped-overlap"],
        "a skipped run",
    )
    assert run["task"] in skipped[0]["reason"]
    assert skipped[0]["task"] is None
    tasks = server.http.get("/api/v1/tasks", params={"origin": "schedule"}).json()["items"]
    assert [t["key"] for t in tasks] == [run["task"]]

    # Once it ends, the next fire makes a new task.
    assert server.http.post(f"/api/v1/tasks/{run['task']}/cancel").status_code == 202
    server.wait_for(run["task"], "cancelled")
    second = poll(
        lambda: [r for r in runs(server, "chores") if r["task"] not in (None, run["task"])],
        "a second task",
    )
    server.wait_for(second[0]["task"], "waiting")
