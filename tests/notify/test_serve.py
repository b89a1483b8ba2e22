"""Notifications on the real server: a receiver that never answers slows neither the
task nor other deliveries; a crash (kill -9) between the event and the send still
delivers once, after the restart, and never again."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.notify.conftest import add_webhook, want_everything
from tests.notify.receiver import HANG, receiver
from tests.support.process import ServeProcess
from tests.support.server import RunningServer

QUICK = """
name: quick
sandbox: none
agent:
  kind: command
  command: echo done > done.txt
"""


def _types(bodies: list[bytes]) -> Counter[str]:
    return Counter(json.loads(b)["type"] for b in bodies)


def test_a_receiver_that_never_answers_holds_up_neither_the_task_nor_others(
    server: RunningServer, remote_repo: Path
) -> None:
    http = server.http
    assert http.post("/api/v1/templates", content=QUICK).status_code == 201
    workflow = {"name": "ship", "stages": [{"key": "code", "agent": {}, "deliver": True}]}
    assert http.post("/api/v1/workflows", json=workflow).status_code == 201
    with receiver(then=HANG) as hung, receiver() as good:
        add_webhook(http, "hung", hung.url)
        add_webhook(http, "good", good.url)
        want_everything(http)
        key = server.create_task(
            title="Quick", repository=str(remote_repo), template="quick", workflow="ship"
        )["key"]
        assert server.wait_for(key, "completed", "failed", timeout=60)["status"] == "completed"
        # The good receiver hears of the end at once, the hung one still holds the start.
        answered = good.wait_for(2, timeout=10)
        assert _types([r.body for r in answered]) == Counter(
            {"task.created": 1, "task.completed": 1}
        )
        assert hung.answered == [] and len(hung.received) >= 1
        owed = http.get("/api/v1/notifications/deliveries", params={"status": "pending"}).json()
        assert {d["channel"] for d in owed} == {"hung"}


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    process = ServeProcess(
        tmp_path / "data",
        {
            "TASKYARD_SECRET_KEY": "test-secret-key",
            "TASKYARD_DATABASE_URL": database_url,
            "TASKYARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "TASKYARD_TEMPORAL_ADDRESS": "",
            "TASKYARD_LOCAL_REPOSITORY_ROOTS": str(tmp_path),
        },
    )
    yield process
    process.stop()


def _sent(http: httpx.Client, timeout: float = 30) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        log: list[dict[str, object]] = http.get("/api/v1/notifications/deliveries").json()
        if log and all(d["status"] == "sent" for d in log):
            return log
        assert time.monotonic() < deadline, log
        time.sleep(0.05)


@pytest.mark.slow
def test_a_crash_between_the_event_and_the_send_still_delivers_once(
    serve: ServeProcess,
) -> None:
    with receiver() as hook:
        # The event is stored by a server that sends nothing (no worker), then it dies.
        serve.command = ["serve", "--no-worker", "--port", "0"]
        serve.start()
        with serve.client(ADMIN_TOKEN) as http:
            add_webhook(http, "mine", hook.url)
            want_everything(http)
            body = {"title": "Crash", "repository": "acme/shop", "run": False}
            assert http.post("/api/v1/tasks", json=body).status_code == 201
        serve.kill()
        assert hook.received == []
        # Restarted with its worker: the outbox row is sent, once.
        serve.command = ["serve", "--port", "0"]
        serve.start()
        with serve.client(ADMIN_TOKEN) as http:
            (sent,) = _sent(http)
        (got,) = hook.wait_for(1)
        assert json.loads(got.body)["type"] == "task.created"
        # Killed again once it is sent, and restarted: nothing is sent twice.
        serve.kill()
        serve.start()
        with serve.client(ADMIN_TOKEN) as http:
            assert http.get("/api/v1/notifications/deliveries").json() == [sent]
            body = {"title": "After", "repository": "acme/shop", "run": False}
            assert http.post("/api/v1/tasks", json=body).status_code == 201
            assert len(_sent(http)) == 2  # the loop runs: a later notice went out
        assert len(hook.received) == 2
        assert [json.loads(r.body)["data"]["task"]["title"] for r in hook.received] == [
            "Crash",
            "After",
        ]
