"""JSON log lines say which task, run and turn they are about, with secrets masked.

A probe workflow (taking the task workflow's input) runs an activity and a local
activity on a real Temporal dev server, through the interceptor the worker uses.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from taskyard import logs
from taskyard.config import Settings
from taskyard.engine.activities import TaskActivities
from taskyard.engine.client import Engine
from taskyard.engine.github import DeliveryActivities
from taskyard.engine.log_context import LogContext
from taskyard.engine.schedules import ScheduleActivities
from taskyard.engine.types import TaskInput, TurnInput
from taskyard.engine.worker import build_workers
from taskyard.model.redaction import MASK, mask_logs
from taskyard.services.github_context import IntakeContext
from taskyard.services.task_store import TaskStore

TIMEOUT = timedelta(seconds=10)
SECRET = f"sk-log-{uuid.uuid4().hex}"
log = logging.getLogger("taskyard.tests.log_context")


@activity.defn(name="speak")
async def speak(inp: TurnInput) -> None:
    log.warning("turn %d sees %s", inp.turn, SECRET)
    try:
        raise RuntimeError(f"the agent printed {SECRET}")
    except RuntimeError:
        log.exception("turn %d failed", inp.turn)


@workflow.defn(name="LogContextProbe")
class Probe:
    @workflow.run
    async def run(self, inp: TaskInput) -> None:
        await workflow.execute_activity(
            speak, TurnInput(inp.task_id, "code", 7, 1), start_to_close_timeout=TIMEOUT
        )
        await workflow.execute_local_activity(
            speak, TurnInput(inp.task_id, "code", 7, 2), start_to_close_timeout=TIMEOUT
        )


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's lines, as `TASKYARD_LOG_FORMAT=json` writes them, secrets masked."""
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    mask_logs([SECRET])  # as `serve` and `worker` do, after their handler is set
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_activity_lines_carry_the_task_run_and_turn(
    temporal_address: str, json_log: io.StringIO
) -> None:
    client = await Client.connect(temporal_address)
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Probe],
        activities=[speak],
        interceptors=[LogContext()],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
        ),
    ):
        await client.execute_workflow(
            Probe.run, TaskInput(41, "TY-41"), id=f"probe-{uuid.uuid4()}", task_queue=queue
        )
    log.warning("outside any task")

    said = {line["message"]: line for line in lines(json_log)}
    for turn in (1, 2):  # an activity, then a local activity
        line = said[f"turn {turn} sees {MASK}"]
        assert line["level"] == "WARNING" and line["logger"] == log.name
        assert line["time"].endswith("+00:00")
        assert (line["task"], line["task_id"], line["stage"]) == ("TY-41", 41, "code")
        assert (line["run_id"], line["turn"], line["activity"]) == (7, turn, "speak")
        failed = said[f"turn {turn} failed"]
        assert failed["task"] == "TY-41"
        assert f"the agent printed {MASK}" in failed["exception"]
    assert "task" not in said["outside any task"]
    assert SECRET not in json_log.getvalue()


async def test_the_task_worker_logs_with_this_context(
    temporal_address: str, settings: Settings
) -> None:
    client = await Client.connect(temporal_address)
    activities = TaskActivities(settings, TaskStore(settings), home_queue="taskyard@here")
    engine = Engine(client, settings, "q")
    github = DeliveryActivities(IntakeContext(settings, engine))
    schedules = ScheduleActivities(settings, engine, engine.schedules)
    for worker in build_workers(client, settings, activities, github, schedules):
        assert any(isinstance(i, LogContext) for i in worker.config()["interceptors"])


def test_text_lines_stay_as_they_were() -> None:
    stream = io.StringIO()
    record = logging.LogRecord("taskyard.x", logging.WARNING, __file__, 1, "hi %s", ("you",), None)
    handler = logs.handler("text", stream)
    handler.handle(record)
    assert stream.getvalue() == "WARNING taskyard.x: hi you\n"
