"""What a task's workflow asked Temporal to run, read from its history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowHistory

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.engine.client import workflow_id


@dataclass(frozen=True)
class Attempt:
    activity: str
    queue: str  # the task queue it was scheduled on
    attempt: int


async def history_of(settings: Settings, key: str) -> WorkflowHistory:
    """The Temporal history of the task ``key``'s workflow."""
    with session_scope(settings.resolved_database_url, write=False) as session:
        uid = session.scalar(select(Task.uid).where(Task.key == key))
    assert uid is not None, key
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    return await client.get_workflow_handle(workflow_id(uid)).fetch_history()


async def attempts(settings: Settings, key: str) -> list[Attempt]:
    """Every started attempt of every activity of the task ``key``, in order."""
    history = await history_of(settings, key)
    scheduled: dict[int, tuple[str, str]] = {}
    found = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attrs.activity_type.name, attrs.task_queue.name)
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            found.append(Attempt(*scheduled[started.scheduled_event_id], started.attempt))
    return found


async def _markers(settings: Settings, key: str, name: str, field: str) -> list[Any]:
    """The decoded ``field`` of each marker ``name`` in the task ``key``'s history, in order."""
    history = await history_of(settings, key)
    found = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == name:
                found.append(json.loads(marker.details[field].payloads[0].data))
    return found


async def local_steps(settings: Settings, key: str) -> list[str]:
    """The local activities the task ``key``'s workflow ran, in order (from its markers)."""
    markers = await _markers(settings, key, "core_local_activity", "data")
    return [data["activity_type"] for data in markers]


async def patches(settings: Settings, key: str) -> list[str]:
    """The patches (``workflow.patched``) the task ``key``'s workflow recorded, in order."""
    return [data["id"] for data in await _markers(settings, key, "core_patch", "patch-data")]
