"""Known secrets never leave in a delivery, an event, a diff or a log line."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from taskyard.agents.base import AgentEvent
from taskyard.config import Settings
from taskyard.engine.event_sink import EventSink
from taskyard.model.redaction import MASK, Redactor, mask_logs
from taskyard.services.task_store import TaskStore
from tests.conftest import ADMIN_TOKEN, git
from tests.support.server import RunningServer

SECRET = "sk-live-4a8f0c2d9e7b1f35"

TEMPLATE = f"""
name: leaky
sandbox: bubblewrap
network: {{policy: none}}
secrets: [API_TOKEN]
agent:
  kind: command
  command: |
    echo "token = $API_TOKEN" > config.ini
    echo "wrote $API_TOKEN and the admin's {ADMIN_TOKEN}"
"""


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")
def test_a_delivery_holding_a_known_secret_is_refused_and_masked(
    server: RunningServer, remote_repo: Path
) -> None:
    http = server.http
    assert http.put("/api/v1/secrets/API_TOKEN", json={"value": SECRET}).status_code < 300
    assert (
        http.post(
            "/api/v1/templates", content=TEMPLATE, headers={"Content-Type": "application/yaml"}
        ).status_code
        == 201
    )
    workflow = {"name": "ship", "stages": [{"key": "code", "agent": {}, "deliver": True}]}
    assert http.post("/api/v1/workflows", json=workflow).status_code == 201
    key = server.create_task(
        title="Configure", repository=str(remote_repo), template="leaky", workflow="ship"
    )["key"]
    task = server.wait_for(key, "failed", "completed", timeout=90)

    assert task["status"] == "failed"
    assert "API_TOKEN" in task["status_message"] and "config.ini" in task["status_message"]
    # Nothing was pushed.
    assert git("branch", "--list", "taskyard/*", cwd=remote_repo) == ""
    # Events and the live diff show the mask, never the value (nor the admin token).
    events = http.get(f"/api/v1/tasks/{key}/events").text
    assert SECRET not in events and ADMIN_TOKEN not in events and MASK in events
    server.published_diff(key)
    diff = http.get(f"/api/v1/tasks/{key}/diff")
    assert diff.status_code == 200, diff.text
    assert "config.ini" in diff.text and SECRET not in diff.text and MASK in diff.text


def test_log_lines_and_tracebacks_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("taskyard.test")
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        mask_logs([SECRET])
        records: list[str] = []
        handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
        logger.warning("calling with %s", SECRET)
        try:
            raise RuntimeError(f"upstream said {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = "\n".join(records)
    # (Other tests of this process may have taught the filter more values to mask.)
    assert SECRET not in text
    assert f"calling with {MASK}" in text and f"upstream said {MASK}" in text


def test_the_agents_last_words_are_masked_before_they_become_the_tasks_status(
    settings: Settings,
) -> None:
    # A failed turn's message becomes the task's status message, and is stored with
    # the turn's result: it must be masked like the event it came with.
    sink = EventSink(TaskStore(settings), 1, 1, Redactor([SECRET]))
    sink.add(AgentEvent("state", {"state": "failure", "message": f"login {SECRET} refused"}))
    assert sink.state == ("failure", f"login {MASK} refused")
